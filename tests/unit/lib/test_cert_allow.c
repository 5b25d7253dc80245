/* cert_allow.c: hex normalisation and each allowlist kind, matching and not. */
#include "pki_util.c"

#include <openssl/sha.h>

#include "certgate/policy.h"

static struct pki_node leaf, bare;

static int setup(void **state)
{
    struct pki_opts o = {
        .eku = "clientAuth",
        .san = "DNS:client.example.com, URI:spiffe://acme/valid, email:valid@example.com, "
               "DNS:alt.example.org",
        .serial = "000A1B2C",
    };
    struct pki_opts zero = {.serial = "0"};

    leaf =
        pki_issue("/O=Acme/OU=Clients/OU=Ops \xC3\xA9quipe/CN=Valid Client/CN=Second CN", NULL, &o);
    bare = pki_issue("/CN=No SAN", NULL, &zero);
    return 0;
}

static int teardown(void **state)
{
    pki_node_free(&leaf);
    pki_node_free(&bare);
    pki_keys_free();
    return 0;
}

static void test_hex_normalize(void **state)
{
    char out[16];

    assert_int_equal(certgate_hex_normalize("ab:cd:EF 01", out, sizeof(out)), 8);
    assert_string_equal(out, "ABCDEF01");
    assert_int_equal(certgate_hex_normalize(" 0a\t1B\n2c:\r", out, sizeof(out)), 6);
    assert_string_equal(out, "0A1B2C");
    assert_int_equal(certgate_hex_normalize("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(certgate_hex_normalize("::  ::", out, sizeof(out)), 0);
    assert_int_equal(certgate_hex_normalize("abcg", out, sizeof(out)), -1);
    assert_int_equal(certgate_hex_normalize("0x12", out, sizeof(out)), -1);
    assert_int_equal(certgate_hex_normalize("12-34", out, sizeof(out)), -1);
    /* Exactly fits with its NUL, and one byte short. */
    assert_int_equal(certgate_hex_normalize("ABCD", out, 5), 4);
    assert_string_equal(out, "ABCD");
    assert_int_equal(certgate_hex_normalize("ABCD", out, 4), -1);
    assert_int_equal(certgate_hex_normalize(NULL, out, sizeof(out)), -1);
    assert_int_equal(certgate_hex_normalize("AB", NULL, 4), -1);
    assert_int_equal(certgate_hex_normalize("AB", out, 0), -1);
}

/* Colon-separated lowercase hex of <d>. */
static void colon_hex(const unsigned char *d, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 3 * i, "%02x%s", d[i], i + 1 < n ? ":" : "");
}

static void test_thumbprints(void **state)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    unsigned int len;
    char hex[3 * SHA256_DIGEST_LENGTH + 1];

    assert_true(X509_digest(leaf.cert, EVP_sha1(), d, &len));
    colon_hex(d, len, hex);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SHA1, hex), 1);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SHA1, hex), 0);
    /* The SHA-1 value is not a SHA-256 entry. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SHA256, hex), 0);
    hex[0] = hex[0] == '0' ? '1' : '0';
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SHA1, hex), 0);

    assert_true(X509_digest(leaf.cert, EVP_sha256(), d, &len));
    colon_hex(d, len, hex);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SHA256, hex), 1);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SHA256, hex), 0);
    /* Not hex: never a match. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SHA256, "not hex"), 0);
}

static void test_serial(void **state)
{
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "0A1B2C"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "a1b2c"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "00:0a:1b:2c"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "0A1B2D"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "0A1B2C00"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SERIAL, "0A1B2G"), 0);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SERIAL, "00"), 1);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SERIAL, "0"), 1);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SERIAL, ""), 0);
}

static void test_names(void **state)
{
    /* Any CN, exactly. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "Valid Client"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "Second CN"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "valid client"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "Valid Client "), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "Valid"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, "Acme"), 0);
    /* Any OU, exactly, UTF-8 compared as UTF-8. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_OU, "Clients"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_OU, "Ops \xC3\xA9quipe"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_OU, "clients"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_OU, "Valid Client"), 0);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_OU, "Clients"), 0);
}

static void test_sans(void **state)
{
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "client.example.com"),
                     1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "CLIENT.Example.COM"),
                     1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "alt.example.org"), 1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "example.com"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "*.example.com"), 0);
    /* A SAN of another type does not count. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_DNS, "valid@example.com"),
                     0);

    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_URI, "spiffe://acme/valid"),
                     1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_URI, "SPIFFE://acme/valid"),
                     0);
    assert_int_equal(
        certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_URI, "spiffe://acme/valid/"), 0);

    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_EMAIL, "valid@example.com"),
                     1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_EMAIL, "VALID@Example.com"),
                     1);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_SAN_EMAIL, "valid@example"), 0);

    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SAN_DNS, "client.example.com"),
                     0);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SAN_URI, "spiffe://acme/valid"),
                     0);
    assert_int_equal(certgate_allow_match(bare.cert, CERTGATE_ALLOW_SAN_EMAIL, "valid@example.com"),
                     0);
}

static void test_bad_arguments(void **state)
{
    assert_int_equal(certgate_allow_match(NULL, CERTGATE_ALLOW_CN, "Valid Client"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, NULL), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_COUNT, "Valid Client"), 0);
    assert_int_equal(certgate_allow_match(leaf.cert, (enum certgate_allow_kind) - 1, "x"), 0);
    /* An empty name entry matches nothing, not everything. */
    assert_int_equal(certgate_allow_match(leaf.cert, CERTGATE_ALLOW_CN, ""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_normalize), cmocka_unit_test(test_thumbprints),
        cmocka_unit_test(test_serial),        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sans),          cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
