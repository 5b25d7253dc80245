/* cert_identity.c: the identity a backend sees, exact, and never a control byte (SPEC §5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testdata.h"
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"

static X509 *load_der(const char *rel)
{
    char path[1024];
    FILE *f;
    X509 *x;

    snprintf(path, sizeof(path), "%s/%s", testdata(), rel);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (set CERTGATE_TESTDATA)", path);
    x = d2i_X509_fp(f, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *test_key(void)
{
    static EVP_PKEY *key;

    if (key == NULL)
        key = EVP_EC_gen("P-256");
    assert_non_null(key);
    return key;
}

/* A self-signed certificate for <name>, serial <serial>, validity given as ASN.1 time
 * strings; re-parsed from its DER so the test sees what a peer would send. */
static X509 *make_cert(X509_NAME *name, const ASN1_INTEGER *serial, const char *nb, const char *na)
{
    X509 *x = X509_new();
    unsigned char *der = NULL;
    const unsigned char *p;
    int len;
    X509 *parsed;

    assert_non_null(x);
    assert_true(X509_set_version(x, 2));
    assert_true(X509_set_serialNumber(x, (ASN1_INTEGER *)serial));
    assert_true(X509_set_subject_name(x, name));
    assert_true(X509_set_issuer_name(x, name));
    assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x), nb));
    assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x), na));
    assert_true(X509_set_pubkey(x, test_key()));
    assert_true(X509_sign(x, test_key(), EVP_sha256()) > 0);
    len = i2d_X509(x, &der);
    assert_true(len > 0);
    p = der;
    parsed = d2i_X509(NULL, &p, len);
    assert_non_null(parsed);
    OPENSSL_free(der);
    X509_free(x);
    return parsed;
}

static X509 *cert_with_serial_long(long v)
{
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    X509 *x;

    assert_true(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"S", -1, -1, 0));
    assert_true(ASN1_INTEGER_set(s, v));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    ASN1_INTEGER_free(s);
    X509_NAME_free(n);
    return x;
}

static void assert_no_ctrl(const char *s)
{
    for (; *s != '\0'; s++)
        assert_false((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F);
}

static void assert_identity_clean(const struct certgate_identity *id)
{
    assert_no_ctrl(id->subject);
    assert_no_ctrl(id->issuer);
    assert_no_ctrl(id->serial);
    assert_no_ctrl(id->sha1);
    assert_no_ctrl(id->sha256);
    assert_no_ctrl(id->not_before);
    assert_no_ctrl(id->not_after);
    assert_no_ctrl(id->cn);
}

static void test_golden_rfc9440_leaf(void **state)
{
    X509 *x = load_der("rfc9440/cert0.der");
    struct certgate_identity id;

    /* Values as `openssl x509 -nameopt RFC2253 -serial -fingerprint` prints them. */
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.subject, "CN=BC");
    assert_string_equal(id.issuer, "CN=LA Intermediate CA,O=Let's Authenticate");
    assert_string_equal(id.serial, "07");
    assert_string_equal(id.sha1, "CA083F269FB4FC71920E94070EAACB731929E6F9");
    assert_string_equal(id.sha256,
                        "BFAF1F7E070F9FA8DD62905F158DA73F84A1136624FBAFCC9393C8F7287A69EB");
    assert_string_equal(id.not_before, "2020-01-14T22:55:33Z");
    assert_string_equal(id.not_after, "2021-01-23T22:55:33Z");
    assert_string_equal(id.cn, "BC");
    certgate_identity_free(&id);
    assert_null(id.subject);
    X509_free(x);

    x = load_der("rfc9440/cert2.der");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.serial, "A4B4CA2A8AB65868");
    assert_string_equal(id.subject,
                        "CN=Let's Authenticate Root Authority,O=Let's Authenticate,C=US");
    assert_string_equal(id.not_after, "2040-01-09T21:25:45Z");
    certgate_identity_free(&id);
    X509_free(x);
}

/* CR, LF, NUL, DEL, UTF-8 and RFC 2253 specials in the CN; a '#' and trailing space in O. */
static void test_hostile_cn(void **state)
{
    static const char cn[] = "a\r\nb\0c\x7f"
                             "\xC3\xA9"
                             ", ; = \" + / \\ < > #";
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    struct certgate_identity id;
    X509 *x;

    assert_true(ASN1_INTEGER_set(s, 1));
    assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"#lead ",
                                           -1, -1, 0));
    assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                           (int)sizeof(cn) - 1, -1, 0));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.subject, "CN=a\\0D\\0Ab\\00c\\7F\xC3\xA9\\, \\; = \\\" \\+ / \\\\ \\< "
                                    "\\> #,O=\\#lead\\ ");
    assert_string_equal(id.issuer, id.subject);
    assert_string_equal(id.cn, "a\\0D\\0Ab\\00c\\7F\xC3\xA9, ; = \" + / \\ < > #");
    assert_identity_clean(&id);
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);
    ASN1_INTEGER_free(s);
}

/* A BMPString CN (UCS-2) comes out as UTF-8, with a control character escaped. */
static void test_bmpstring_cn(void **state)
{
    /* "Zoë 日\n" in UCS-2 big-endian */
    static const unsigned char bmp[] = {0x00, 'Z', 0x00, 'o',  0x00, 0xEB,
                                        0x00, ' ', 0x65, 0xE5, 0x00, 0x0A};
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    struct certgate_identity id;
    X509 *x;

    assert_true(ASN1_INTEGER_set(s, 2));
    assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_BMPSTRING,
                                           (unsigned char *)bmp, (int)sizeof(bmp), -1, 0));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.subject, "CN=Zo\xC3\xAB \xE6\x97\xA5\\0A");
    assert_string_equal(id.cn, "Zo\xC3\xAB \xE6\x97\xA5\\0A");
    assert_identity_clean(&id);
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);
    ASN1_INTEGER_free(s);
}

static void test_first_cn_and_none(void **state)
{
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    struct certgate_identity id;
    X509 *x;

    assert_true(ASN1_INTEGER_set(s, 3));
    assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"first",
                                           -1, -1, 0));
    assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"second",
                                           -1, -1, 0));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    /* RFC 2253 lists RDNs last-first; "first" is first in the certificate. */
    assert_string_equal(id.subject, "CN=second,CN=first");
    assert_string_equal(id.cn, "first");
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);

    n = X509_NAME_new();
    assert_true(
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"NoCN", -1, -1, 0));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.subject, "O=NoCN");
    assert_string_equal(id.cn, "");
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);
    ASN1_INTEGER_free(s);
}

static void test_serials(void **state)
{
    static const struct {
        long v;
        const char *hex;
    } v[] = {
        {0, "00"},        {1, "01"},           {0x7F, "7F"},
        {0x80, "80"},                                       /* DER 00 80: pad dropped */
        {0xABCD, "ABCD"}, {0x10000, "010000"}, {-5, "-05"}, /* negative: non-conforming */
    };
    struct certgate_identity id;
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        X509 *x = cert_with_serial_long(v[i].v);
        assert_int_equal(certgate_identity_from_x509(x, &id), 0);
        assert_string_equal(id.serial, v[i].hex);
        certgate_identity_free(&id);
        X509_free(x);
    }
}

static void test_long_serial(void **state)
{
    /* 20 bytes with the top bit set: DER carries a 00 pad that must not show. */
    static const unsigned char raw[20] = {0xF0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                          0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D,
                                          0x0E, 0x0F, 0x10, 0x11, 0x12, 0xFF};
    X509_NAME *n = X509_NAME_new();
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ASN1_INTEGER *s = BN_to_ASN1_INTEGER(bn, NULL);
    struct certgate_identity id;
    X509 *x;

    assert_true(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"L", -1, -1, 0));
    x = make_cert(n, s, "20200101000000Z", "20300101000000Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.serial, "F00102030405060708090A0B0C0D0E0F101112FF");
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);
    ASN1_INTEGER_free(s);
    BN_free(bn);
}

static void test_times(void **state)
{
    X509_NAME *n = X509_NAME_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    struct certgate_identity id;
    X509 *x;

    assert_true(ASN1_INTEGER_set(s, 9));
    assert_true(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"T", -1, -1, 0));
    /* UTCTime before 2050, GeneralizedTime after (RFC 5280 §4.1.2.5). */
    x = make_cert(n, s, "990102030405Z", "20510607080910Z");
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.not_before, "1999-01-02T03:04:05Z");
    assert_string_equal(id.not_after, "2051-06-07T08:09:10Z");
    certgate_identity_free(&id);
    X509_free(x);
    X509_NAME_free(n);
    ASN1_INTEGER_free(s);
}

static void test_digests_match_der(void **state)
{
    X509 *x = cert_with_serial_long(42);
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int len = i2d_X509(x, &der);
    char want[2 * SHA256_DIGEST_LENGTH + 1];
    struct certgate_identity id;
    int i;

    assert_true(len > 0);
    assert_non_null(SHA256(der, (size_t)len, md));
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(want + 2 * i, "%02X", md[i]);
    assert_int_equal(certgate_identity_from_x509(x, &id), 0);
    assert_string_equal(id.sha256, want);
    assert_int_equal(strlen(id.sha1), 40);
    certgate_identity_free(&id);
    OPENSSL_free(der);
    X509_free(x);
}

static void test_null_and_double_free(void **state)
{
    struct certgate_identity id;

    memset(&id, 0x5A, sizeof(id));
    assert_int_equal(certgate_identity_from_x509(NULL, &id), -1);
    assert_null(id.subject);
    assert_null(id.cn);
    certgate_identity_free(&id);
    certgate_identity_free(&id);
    certgate_identity_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_rfc9440_leaf),
        cmocka_unit_test(test_hostile_cn),
        cmocka_unit_test(test_bmpstring_cn),
        cmocka_unit_test(test_first_cn_and_none),
        cmocka_unit_test(test_serials),
        cmocka_unit_test(test_long_serial),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_digests_match_der),
        cmocka_unit_test(test_null_and_double_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
