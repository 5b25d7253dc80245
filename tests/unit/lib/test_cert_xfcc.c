/* XFCC (Envoy x-forwarded-client-cert) in cert_encode.c and cert_decode.c: the golden value
 * byte for byte, exact quoting of attacker-controlled fields, chains, and a strict parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testdata.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgate/certgate.h"
#include "pki_util.c"

#define GOLDEN_BY "spiffe://lyft.com/backend-team"

/* Whole file <rel> under the test data dir, without a final newline. */
static char *slurp_text(const char *rel)
{
    size_t n;
    char *buf = (char *)slurp(rel, &n);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static X509 *golden_cert(void)
{
    char *pem = slurp_text("xfcc/clientcert_2024.pem");
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    assert_non_null(x);
    BIO_free(bio);
    free(pem);
    return x;
}

/* printf into a malloc'd string. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, f);
    n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static char *sha256_lower(X509 *x)
{
    unsigned char md[32];
    unsigned int len = 0, i;
    char *out = malloc(65);

    assert_true(X509_digest(x, EVP_sha256(), md, &len));
    assert_int_equal(len, 32);
    for (i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    return out;
}

/* Length of OpenSSL's PEM of <x>: where a second block would start. */
static size_t pem_len(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;

    assert_true(PEM_write_bio_X509(bio, x));
    len = BIO_get_mem_data(bio, &data);
    BIO_free(bio);
    return (size_t)len;
}

static void assert_no_ctrl(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            fail_msg("control byte 0x%02X at %zu in %s", (unsigned char)s[i], i, s);
}

static X509 *decode_ok(const char *v, STACK_OF(X509) **chain)
{
    char err[256] = "";
    enum certgate_format used = CERTGATE_FMT_AUTO;
    X509 *x = certgate_decode(v, strlen(v), CERTGATE_FMT_XFCC, chain, &used, err, sizeof(err));

    if (x == NULL)
        fail_msg("decode failed: %s", err);
    assert_int_equal(used, CERTGATE_FMT_XFCC);
    return x;
}

static void decode_err(const char *v, const char *want)
{
    char err[256] = "";
    STACK_OF(X509) *chain = (STACK_OF(X509) *)1;
    X509 *x = certgate_decode(v, strlen(v), CERTGATE_FMT_XFCC, &chain, NULL, err, sizeof(err));

    assert_null(x);
    assert_null(chain);
    assert_string_equal(err, want);
    assert_int_equal(ERR_peek_error(), 0);
}

/* A certificate whose subject and SANs carry every byte XFCC has to quote or escape. */
static X509 *hostile_cert(void)
{
    struct pki_node n = pki_issue("/CN=placeholder", NULL, NULL);
    X509_NAME *name = X509_NAME_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    static const char *const uris[] = {"spiffe://a/b?x=1", "urn:a\"b", "urn:back\\slash"};
    static const char *const dns[] = {"a,b.example", "c;d.example", "cr\r\nlf.example",
                                      "hi\x80.example", "plain.example"};
    unsigned char *der = NULL;
    const unsigned char *p;
    X509 *x = n.cert, *out;
    size_t i;
    int len;

    assert_true(X509_NAME_add_entry_by_txt(
        name, "O", MBSTRING_UTF8, (const unsigned char *)"\xC3\x9cml\xC3\xA4ut \xE6\x97\xA5", -1,
        -1, 0));
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)"Doe, John; \"Q\"=a+b/c\\d\r\nX",
                                           -1, -1, 0));
    assert_true(X509_set_subject_name(x, name));
    assert_true(X509_set_issuer_name(x, name));
    for (i = 0; i < sizeof(uris) / sizeof(uris[0]) + sizeof(dns) / sizeof(dns[0]); i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        int is_uri = i < sizeof(uris) / sizeof(uris[0]);
        const char *v = is_uri ? uris[i] : dns[i - sizeof(uris) / sizeof(uris[0])];

        assert_true(ASN1_STRING_set(s, v, (int)strlen(v)));
        GENERAL_NAME_set0_value(gn, is_uri ? GEN_URI : GEN_DNS, s);
        assert_true(sk_GENERAL_NAME_push(gens, gn));
    }
    assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT));
    assert_true(X509_sign(x, n.key, EVP_sha256()) > 0);
    len = i2d_X509(x, &der);
    assert_true(len > 0);
    p = der;
    out = d2i_X509(NULL, &p, len);
    assert_non_null(out);
    OPENSSL_free(der);
    GENERAL_NAMES_free(gens);
    X509_NAME_free(name);
    pki_node_free(&n);
    return out;
}

static void test_golden_byte_exact(void **state)
{
    X509 *x = golden_cert();
    char *want = slurp_text("xfcc/derived_xfcc_clientcert_2024.txt");
    char *got = certgate_encode_xfcc(x, NULL, GOLDEN_BY);

    assert_string_equal(got, want);
    free(got);
    free(want);
    X509_free(x);
}

static void test_golden_without_by(void **state)
{
    X509 *x = golden_cert();
    char *want = slurp_text("xfcc/derived_xfcc_clientcert_2024.txt");
    char *got = certgate_encode_xfcc(x, NULL, NULL);
    const char *prefix = "By=" GOLDEN_BY ";";

    assert_memory_equal(want, prefix, strlen(prefix));
    assert_string_equal(got, want + strlen(prefix));
    free(got);
    /* An empty By is no By either. */
    got = certgate_encode_xfcc(x, NULL, "");
    assert_string_equal(got, want + strlen(prefix));
    free(got);
    free(want);
    X509_free(x);
}

static void test_golden_decodes_to_its_certificate(void **state)
{
    X509 *x = golden_cert(), *y;
    char *v = slurp_text("xfcc/derived_xfcc_clientcert_2024.txt");
    STACK_OF(X509) *chain = (STACK_OF(X509) *)1;
    enum certgate_format used = CERTGATE_FMT_HEX;
    char err[256] = "";

    y = certgate_decode(v, strlen(v), CERTGATE_FMT_AUTO, &chain, &used, err, sizeof(err));
    assert_non_null(y);
    assert_string_equal(err, "");
    assert_int_equal(used, CERTGATE_FMT_XFCC);
    assert_null(chain);
    assert_int_equal(X509_cmp(x, y), 0);
    X509_free(y);
    free(v);
    X509_free(x);
}

static void test_chain_field_is_every_pem_leaf_first(void **state)
{
    struct pki_opts ca = {.ca = 1, .key = "rsa:2048"};
    struct pki_opts leaf_o = {.san = "DNS:svc.example, URI:spiffe://t/svc"};
    struct pki_node root = pki_issue("/CN=Root", NULL, &ca);
    struct pki_node ica = pki_issue("/O=Acme/CN=Issuing", &root, &ca);
    struct pki_node leaf = pki_issue("/O=Acme/CN=svc", &ica, &leaf_o);
    STACK_OF(X509) *chain = sk_X509_new_null(), *back = NULL;
    char *l = certgate_encode(leaf.cert, CERTGATE_FMT_PEM_URLENCODED);
    char *i = certgate_encode(ica.cert, CERTGATE_FMT_PEM_URLENCODED);
    char *r = certgate_encode(root.cert, CERTGATE_FMT_PEM_URLENCODED);
    char *h = sha256_lower(leaf.cert), *want, *got;
    X509 *y;

    sk_X509_push(chain, leaf.cert);
    sk_X509_push(chain, ica.cert);
    sk_X509_push(chain, root.cert);
    want = fmt("By=spiffe://t/gw;Hash=%s;Cert=\"%s\";Chain=\"%s%s%s\";Subject=\"CN=svc,O=Acme\";"
               "URI=spiffe://t/svc;DNS=svc.example",
               h, l, l, i, r);
    got = certgate_encode_xfcc(leaf.cert, chain, "spiffe://t/gw");
    assert_string_equal(got, want);

    /* Back: the leaf, and the chain without it. */
    y = decode_ok(got, &back);
    assert_int_equal(X509_cmp(y, leaf.cert), 0);
    assert_non_null(back);
    assert_int_equal(sk_X509_num(back), 2);
    assert_int_equal(X509_cmp(sk_X509_value(back, 0), ica.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(back, 1), root.cert), 0);
    sk_X509_pop_free(back, X509_free);
    X509_free(y);
    free(got);
    free(want);

    /* An empty stack is no Chain field. */
    sk_X509_zero(chain);
    got = certgate_encode_xfcc(leaf.cert, chain, NULL);
    want = fmt("Hash=%s;Cert=\"%s\";Subject=\"CN=svc,O=Acme\";URI=spiffe://t/svc;DNS=svc.example",
               h, l);
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* A Chain without the leaf (another producer) gives all it holds. */
    want = fmt("Cert=\"%s\";Chain=\"%s\"", l, i);
    y = decode_ok(want, &back);
    assert_int_equal(X509_cmp(y, leaf.cert), 0);
    assert_int_equal(sk_X509_num(back), 1);
    assert_int_equal(X509_cmp(sk_X509_value(back, 0), ica.cert), 0);
    sk_X509_pop_free(back, X509_free);
    X509_free(y);
    free(want);

    /* A Chain of the leaf alone leaves nothing. */
    want = fmt("Cert=\"%s\";Chain=\"%s\"", l, l);
    back = (STACK_OF(X509) *)1;
    y = decode_ok(want, &back);
    assert_null(back);
    X509_free(y);
    free(want);

    sk_X509_free(chain);
    free(l);
    free(i);
    free(r);
    free(h);
    pki_node_free(&leaf);
    pki_node_free(&ica);
    pki_node_free(&root);
}

static void test_hostile_fields_are_quoted_exactly(void **state)
{
    X509 *x = hostile_cert(), *y;
    char *got = certgate_encode_xfcc(x, NULL, "spiffe://gw;x=\"1\"");
    char *h = sha256_lower(x);
    char *c = certgate_encode(x, CERTGATE_FMT_PEM_URLENCODED);
    /* Subject: RFC 2253 (\, \; \" \+ \\ escapes, CR LF as \0D\0A), then XFCC's quoting doubles
     * every '\' and escapes every '"'. SANs: "\HH" for bytes outside printable ASCII and '\'. */
    char *want = fmt("By=\"spiffe://gw;x=\\\"1\\\"\";Hash=%s;Cert=\"%s\";"
                     "Subject=\"CN=Doe\\\\, John\\\\; \\\\\\\"Q\\\\\\\"=a\\\\+b/c\\\\\\\\d"
                     "\\\\0D\\\\0AX,O=\xC3\x9cml\xC3\xA4ut \xE6\x97\xA5\";"
                     "URI=\"spiffe://a/b?x=1\";URI=\"urn:a\\\"b\";URI=urn:back\\5Cslash;"
                     "DNS=\"a,b.example\";DNS=\"c;d.example\";DNS=cr\\0D\\0Alf.example;"
                     "DNS=hi\\80.example;DNS=plain.example",
                     h, c);

    assert_string_equal(got, want);
    assert_no_ctrl(got);
    /* The decoder honours those quotes and escapes and gets the same certificate back. */
    y = decode_ok(got, NULL);
    assert_int_equal(X509_cmp(x, y), 0);
    X509_free(y);
    free(want);
    free(c);
    free(h);
    free(got);
    X509_free(x);
}

static void test_no_subject_and_no_sans(void **state)
{
    struct pki_node n = pki_issue("/CN=x", NULL, NULL);
    X509_NAME *empty = X509_NAME_new();
    X509 *x = n.cert;
    char *got, *want, *h, *c;

    assert_true(X509_set_subject_name(x, empty));
    assert_true(X509_sign(x, n.key, EVP_sha256()) > 0);
    h = sha256_lower(x);
    c = certgate_encode(x, CERTGATE_FMT_PEM_URLENCODED);
    got = certgate_encode_xfcc(x, NULL, NULL);
    want = fmt("Hash=%s;Cert=\"%s\";Subject=\"\"", h, c);
    assert_string_equal(got, want);
    assert_null(certgate_encode_xfcc(NULL, NULL, "x"));
    free(got);
    free(want);
    free(h);
    free(c);
    X509_NAME_free(empty);
    pki_node_free(&n);
}

static void test_last_element_is_used(void **state)
{
    struct pki_node a = pki_issue("/CN=first proxy client", NULL, NULL);
    struct pki_node b = pki_issue("/CN=our client", NULL, NULL);
    char *xa = certgate_encode_xfcc(a.cert, NULL, "spiffe://p1");
    char *xb = certgate_encode_xfcc(b.cert, NULL, "spiffe://p2");
    char *v = fmt("%s,%s", xa, xb);
    X509 *y = decode_ok(v, NULL);

    assert_int_equal(X509_cmp(y, b.cert), 0);
    X509_free(y);
    free(v);
    /* Spaces after the comma (as when a proxy joins header lines) and lower-case keys. */
    v = fmt("%s , \t%s", xa, xb);
    y = decode_ok(v, NULL);
    assert_int_equal(X509_cmp(y, b.cert), 0);
    X509_free(y);
    free(v);
    {
        char *cb = certgate_encode(b.cert, CERTGATE_FMT_PEM_URLENCODED);
        v = fmt("by=x;cert=%s;subject=\"a\\\\b\\\"c\";uri=u;dns=d", cb);
        y = decode_ok(v, NULL);
        assert_int_equal(X509_cmp(y, b.cert), 0);
        X509_free(y);
        free(v);
        free(cb);
    }
    /* The last element without Cert is an error even if an earlier one has it. */
    v = fmt("%s,By=spiffe://p2;Subject=\"CN=x\"", xa);
    decode_err(v, "xfcc: the last XFCC element (of 2) has no Cert field");
    free(v);
    free(xa);
    free(xb);
    pki_node_free(&a);
    pki_node_free(&b);
}

static void test_strict_syntax(void **state)
{
    struct pki_node a = pki_issue("/CN=a", NULL, NULL);
    struct pki_node b = pki_issue("/CN=b", NULL, NULL);
    char *ca = certgate_encode(a.cert, CERTGATE_FMT_PEM_URLENCODED);
    char *cb = certgate_encode(b.cert, CERTGATE_FMT_PEM_URLENCODED);
    char *hb = sha256_lower(b.cert);
    char *v;

    decode_err("By=x;Subject=\"CN=x\"", "xfcc: the last XFCC element (of 1) has no Cert field");
    decode_err("Cert=\"abc", "xfcc: unterminated quoted XFCC value");
    decode_err("Cert=\"abc\\", "xfcc: unterminated quoted XFCC value");
    decode_err("By=x,,Cert=y", "xfcc: empty XFCC element at byte 5");
    decode_err("By=x,", "xfcc: empty XFCC element at byte 5");
    decode_err("By=x;Cert", "xfcc: XFCC key without '=' at byte 5");
    decode_err("By=x;;Cert=y", "xfcc: byte 5 (';') where an XFCC key=value was expected");
    decode_err("By=\"x\"y;Cert=z", "xfcc: byte 6 ('y') follows an XFCC value");
    decode_err("By=a\"b;Cert=z", "xfcc: byte 4 ('\"') is not allowed in an XFCC value");
    decode_err("By=\"a\rb\";Cert=z", "xfcc: byte 5 (0x0D) is not allowed in an XFCC value");
    decode_err("By=a\nb;Cert=z", "xfcc: byte 4 (0x0A) is not allowed in an XFCC value");
    decode_err("Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIBx%0A-----END%20CERTIFICATE-----%0A\"",
               "xfcc: Cert field: base64 length is wrong (5 characters and 0 '=')");
    decode_err("Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A\"",
               "xfcc: Cert field: the decoded 3 bytes are not a DER certificate");
    decode_err("Cert=\"%ZZ\"", "xfcc: Cert field: the '%' at byte 0 is not followed by two hex "
                               "digits");
    decode_err("Cert=\"hello\"", "xfcc: Cert field: no '-----BEGIN CERTIFICATE-----' line at "
                                 "byte 0");

    v = fmt("Cert=\"%s\";Cert=\"%s\"", cb, cb);
    decode_err(v, "xfcc: an XFCC element has two Cert fields");
    free(v);
    v = fmt("Cert=\"%s%s\"", ca, cb);
    decode_err(v, "xfcc: Cert field: it holds 2 certificates");
    free(v);
    v = fmt("Hash=%s;Cert=\"%s\"", hb, ca);
    decode_err(v, "xfcc: the Hash field is not the SHA-256 of the Cert field");
    free(v);
    v = fmt("Hash=%.63s;Cert=\"%s\"", hb, cb);
    decode_err(v, "xfcc: the Hash field is not the SHA-256 of the Cert field");
    free(v);
    v = fmt("Cert=\"%s\";Chain=\"%sjunk\"", cb, ca);
    {
        char *want =
            fmt("xfcc: Chain field: text after the PEM block at byte %zu", pem_len(a.cert));
        decode_err(v, want);
        free(want);
    }
    free(v);

    /* The right Hash in upper case is the same hash. */
    {
        X509 *y;
        size_t k;
        for (k = 0; hb[k] != '\0'; k++)
            hb[k] = (char)(hb[k] >= 'a' ? hb[k] - 32 : hb[k]);
        v = fmt("Hash=%s;Cert=\"%s\"", hb, cb);
        y = decode_ok(v, NULL);
        assert_int_equal(X509_cmp(y, b.cert), 0);
        X509_free(y);
        free(v);
    }
    free(ca);
    free(cb);
    free(hb);
    pki_node_free(&a);
    pki_node_free(&b);
}

static int teardown(void **state)
{
    pki_keys_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_byte_exact),
        cmocka_unit_test(test_golden_without_by),
        cmocka_unit_test(test_golden_decodes_to_its_certificate),
        cmocka_unit_test(test_chain_field_is_every_pem_leaf_first),
        cmocka_unit_test(test_hostile_fields_are_quoted_exactly),
        cmocka_unit_test(test_no_subject_and_no_sans),
        cmocka_unit_test(test_last_element_is_used),
        cmocka_unit_test(test_strict_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
