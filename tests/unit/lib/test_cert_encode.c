/* cert_encode.c: byte-exact forwarding formats against public golden values (SPEC §5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testdata.h"
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"

/* A golden header value file, without the newline that ends the file. */
static char *golden(const char *rel)
{
    size_t len;
    char *s = (char *)slurp(rel, &len);

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    return s;
}

static X509 *load_der(const char *rel)
{
    size_t len;
    unsigned char *der = slurp(rel, &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    assert_non_null(x);
    free(der);
    return x;
}

static X509 *load_pem(const char *rel)
{
    size_t len;
    unsigned char *pem = slurp(rel, &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    assert_non_null(x);
    BIO_free(bio);
    free(pem);
    return x;
}

static void test_base64_rfc4648_vectors(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *s = certgate_base64((const unsigned char *)v[i].in, strlen(v[i].in));
        assert_string_equal(s, v[i].out);
        free(s);
    }
}

static void test_base64_alphabet_edges(void **state)
{
    const unsigned char bin[] = {0xFB, 0xFF, 0xBF, 0x00, 0x10, 0x83};
    char *s = certgate_base64(bin, sizeof(bin));

    /* 0xFBFFBF -> "+/+/", 0x001083 -> "ABCD" */
    assert_string_equal(s, "+/+/ABCD");
    free(s);
    s = certgate_base64(NULL, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_rfc9440_leaf_golden(void **state)
{
    X509 *x = load_der("rfc9440/cert0.der");
    char *want = golden("rfc9440/client-cert.value");
    char *got = certgate_encode(x, CERTGATE_FMT_RFC9440);

    assert_string_equal(got, want);
    free(got);
    free(want);
    X509_free(x);
}

static void test_rfc9440_chain_golden(void **state)
{
    size_t len;
    unsigned char *pem = slurp("rfc9440/chain.pem", &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *x;
    char *want = golden("rfc9440/client-cert-chain.value");
    char *got;

    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        sk_X509_push(chain, x);
    assert_int_equal(sk_X509_num(chain), 3);
    got = certgate_encode_rfc9440_chain(chain);
    assert_string_equal(got, want);
    free(got);

    /* The same chain from the separate DER files gives the same value. */
    sk_X509_pop_free(chain, X509_free);
    chain = sk_X509_new_null();
    sk_X509_push(chain, load_der("rfc9440/cert0.der"));
    sk_X509_push(chain, load_der("rfc9440/cert1.der"));
    sk_X509_push(chain, load_der("rfc9440/cert2.der"));
    got = certgate_encode_rfc9440_chain(chain);
    assert_string_equal(got, want);
    free(got);

    sk_X509_pop_free(chain, X509_free);
    BIO_free(bio);
    free(pem);
    free(want);
}

static void test_rfc9440_chain_short(void **state)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *leaf = load_der("rfc9440/cert0.der");
    X509 *ca = load_der("rfc9440/cert1.der");
    char *got = certgate_encode_rfc9440_chain(NULL);
    char *want, *b64;

    assert_string_equal(got, "");
    free(got);
    got = certgate_encode_rfc9440_chain(chain);
    assert_string_equal(got, "");
    free(got);
    sk_X509_push(chain, leaf);
    got = certgate_encode_rfc9440_chain(chain);
    assert_string_equal(got, "");
    free(got);
    /* Two: exactly one element, no separator. */
    sk_X509_push(chain, ca);
    got = certgate_encode_rfc9440_chain(chain);
    b64 = certgate_encode(ca, CERTGATE_FMT_BASE64_DER);
    want = malloc(strlen(b64) + 3);
    sprintf(want, ":%s:", b64);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(b64);
    sk_X509_pop_free(chain, X509_free);
}

static void test_base64_der_golden(void **state)
{
    X509 *x = load_der("rfc9440/cert0.der");
    char *value = golden("rfc9440/client-cert.value");
    char *got = certgate_encode(x, CERTGATE_FMT_BASE64_DER);

    /* The RFC 9440 value is ":" + base64 DER + ":". */
    value[strlen(value) - 1] = '\0';
    assert_string_equal(got, value + 1);
    assert_null(strchr(got, '\n'));
    free(got);
    free(value);
    X509_free(x);
}

static void test_hex(void **state)
{
    size_t len, i;
    unsigned char *der = slurp("rfc9440/cert0.der", &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    char *want = malloc(len * 2 + 1);
    char *got = certgate_encode(x, CERTGATE_FMT_HEX);

    for (i = 0; i < len; i++)
        sprintf(want + 2 * i, "%02X", der[i]);
    assert_string_equal(got, want);
    assert_memory_equal(got, "308201A83082014EA003020102020107", 32);
    free(got);
    free(want);
    free(der);
    X509_free(x);
}

/* Envoy's XFCC Cert= field is the same URI-component escaping of the PEM. */
static void test_pem_urlencoded_golden(void **state)
{
    X509 *x = load_pem("xfcc/clientcert_2024.pem");
    char *xfcc = golden("xfcc/derived_xfcc_clientcert_2024.txt");
    char *start = strstr(xfcc, ";Cert=\""), *end;
    char *got = certgate_encode(x, CERTGATE_FMT_PEM_URLENCODED);

    assert_non_null(start);
    start += strlen(";Cert=\"");
    end = strchr(start, '"');
    assert_non_null(end);
    *end = '\0';
    assert_string_equal(got, start);
    free(got);
    free(xfcc);
    X509_free(x);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The nginx $ssl_client_escaped_cert rules: only unreserved bytes stay, %XX uppercase,
 * and decoding gives back exactly OpenSSL's own PEM. */
static void test_pem_urlencoded_rules(void **state)
{
    X509 *x = load_der("rfc9440/cert0.der");
    char *got = certgate_encode(x, CERTGATE_FMT_PEM_URLENCODED);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem, *dec = malloc(strlen(got) + 1);
    long pem_len;
    size_t i, o = 0;

    assert_true(PEM_write_bio_X509(bio, x));
    pem_len = BIO_get_mem_data(bio, &pem);
    for (i = 0; got[i] != '\0'; i++) {
        char c = got[i];
        if (c == '%') {
            int hi = hexval(got[i + 1]), lo = hi < 0 ? -1 : hexval(got[i + 2]);
            assert_true(hi >= 0 && lo >= 0);
            dec[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~",
                                   c));
            dec[o++] = c;
        }
    }
    assert_int_equal(o, (size_t)pem_len);
    assert_memory_equal(dec, pem, o);
    assert_true(starts_with(got, "-----BEGIN%20CERTIFICATE-----%0AMIIBqDCCAU6gAwIBAgIBBzAK"));
    assert_true(ends_with(got, "yhk%3D%0A-----END%20CERTIFICATE-----%0A"));
    free(dec);
    free(got);
    BIO_free(bio);
    X509_free(x);
}

static void test_unsupported(void **state)
{
    X509 *x = load_der("rfc9440/cert0.der");

    /* XFCC needs more than the leaf; it comes with its own entry point. */
    assert_null(certgate_encode(x, CERTGATE_FMT_XFCC));
    assert_null(certgate_encode(x, (enum certgate_format)42));
    assert_null(certgate_encode(NULL, CERTGATE_FMT_BASE64_DER));
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_alphabet_edges),
        cmocka_unit_test(test_rfc9440_leaf_golden),
        cmocka_unit_test(test_rfc9440_chain_golden),
        cmocka_unit_test(test_rfc9440_chain_short),
        cmocka_unit_test(test_base64_der_golden),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_pem_urlencoded_golden),
        cmocka_unit_test(test_pem_urlencoded_rules),
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
