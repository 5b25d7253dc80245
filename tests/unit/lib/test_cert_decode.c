/* cert_decode.c and cert_format.c: every format of SPEC §5 back to the certificate, strictly,
 * auto-detection, and exact reasons for what is not a certificate. */
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

static const enum certgate_format all_formats[] = {
    CERTGATE_FMT_BASE64_DER, CERTGATE_FMT_PEM_URLENCODED, CERTGATE_FMT_HEX,
    CERTGATE_FMT_RFC9440,    CERTGATE_FMT_XFCC,
};
#define N_FORMATS (sizeof(all_formats) / sizeof(all_formats[0]))

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

/* The value of <x> in <f>; XFCC with the chain when one is given. */
static char *encode(X509 *x, enum certgate_format f, STACK_OF(X509) *chain)
{
    char *v = f == CERTGATE_FMT_XFCC ? certgate_encode_xfcc(x, chain, "spiffe://gw")
                                     : certgate_encode(x, f);
    assert_non_null(v);
    return v;
}

static char *pem_of(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long len;

    assert_true(PEM_write_bio_X509(bio, x));
    len = BIO_get_mem_data(bio, &data);
    out = malloc((size_t)len + 1);
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    BIO_free(bio);
    return out;
}

/* Decoding <v> as <f> gives <want> (and <used>), no chain. */
static void assert_decodes(const char *v, size_t len, enum certgate_format f, X509 *want,
                           enum certgate_format used_want)
{
    char err[256] = "";
    enum certgate_format used = (enum certgate_format)99;
    STACK_OF(X509) *chain = (STACK_OF(X509) *)1;
    X509 *y = certgate_decode(v, len, f, &chain, &used, err, sizeof(err));

    if (y == NULL)
        fail_msg("decoding as %s failed: %s", certgate_format_name(f), err);
    assert_int_equal(X509_cmp(y, want), 0);
    assert_int_equal(used, used_want);
    assert_null(chain);
    X509_free(y);
}

static void assert_refused(const char *v, size_t len, enum certgate_format f, const char *want)
{
    char err[256] = "";
    STACK_OF(X509) *chain = (STACK_OF(X509) *)1;
    X509 *y = certgate_decode(v, len, f, &chain, NULL, err, sizeof(err));

    if (y != NULL)
        fail_msg("'%.60s' decoded as %s, expected: %s", v, certgate_format_name(f), want);
    assert_null(chain);
    assert_string_equal(err, want);
    assert_int_equal(ERR_peek_error(), 0); /* the caller's error queue is left alone */
}

/* Self-signed, with a subject full of what quoting and escaping must survive. */
static X509 *hostile_cert(const char *key)
{
    struct pki_opts o = {.key = key, .san = "DNS:a.example, URI:spiffe://t/a"};
    struct pki_node n = pki_issue("/CN=placeholder", NULL, &o);
    X509_NAME *name = X509_NAME_new();
    static const char *const cn = "a,b;c=d\"e\"+f/g\\h \xC3\xA9\xE2\x82\xAC\r\nInjected: 1";
    unsigned char *der = NULL;
    const unsigned char *p;
    X509 *out;
    int len;

    assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                           (const unsigned char *)"=;,\"+/", -1, -1, 0));
    assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                           -1, 0));
    assert_true(X509_set_subject_name(n.cert, name));
    assert_true(X509_set_issuer_name(n.cert, name));
    assert_true(X509_sign(n.cert, n.key, EVP_sha256()) > 0);
    len = i2d_X509(n.cert, &der);
    p = der;
    out = d2i_X509(NULL, &p, len);
    assert_non_null(out);
    OPENSSL_free(der);
    X509_NAME_free(name);
    pki_node_free(&n);
    return out;
}

static void test_format_names(void **state)
{
    static const struct {
        const char *name;
        enum certgate_format f;
    } v[] = {
        {"base64-der", CERTGATE_FMT_BASE64_DER},
        {"pem-urlencoded", CERTGATE_FMT_PEM_URLENCODED},
        {"hex", CERTGATE_FMT_HEX},
        {"rfc9440", CERTGATE_FMT_RFC9440},
        {"xfcc", CERTGATE_FMT_XFCC},
        {"auto", CERTGATE_FMT_AUTO},
    };
    enum certgate_format f;
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        f = (enum certgate_format)99;
        assert_int_equal(certgate_format_parse(v[i].name, &f), 0);
        assert_int_equal(f, v[i].f);
        assert_string_equal(certgate_format_name(v[i].f), v[i].name);
    }
    f = CERTGATE_FMT_HEX;
    assert_int_equal(certgate_format_parse("Base64-DER", &f), -1);
    assert_int_equal(certgate_format_parse("base64", &f), -1);
    assert_int_equal(certgate_format_parse("", &f), -1);
    assert_int_equal(certgate_format_parse(NULL, &f), -1);
    assert_int_equal(f, CERTGATE_FMT_HEX); /* untouched on failure */
    assert_int_equal(certgate_format_parse("xfcc", NULL), 0);
    assert_string_equal(certgate_format_name((enum certgate_format)42), "unknown");
}

/* Every format, explicit and auto, for RSA and EC leaves and the hostile subject. */
static void test_round_trip_every_format(void **state)
{
    struct pki_opts rsa = {.key = "rsa:2048", .san = "DNS:r.example"};
    struct pki_opts ec = {.key = "ec:P-384", .san = "URI:spiffe://t/e"};
    struct pki_node r = pki_issue("/O=Acme/CN=RSA Client", NULL, &rsa);
    struct pki_node e = pki_issue("/O=Acme/CN=EC Client", NULL, &ec);
    X509 *certs[4];
    size_t c, k;

    certs[0] = r.cert;
    certs[1] = e.cert;
    certs[2] = hostile_cert("rsa:2048");
    certs[3] = hostile_cert("ec:P-256");
    for (c = 0; c < 4; c++) {
        for (k = 0; k < N_FORMATS; k++) {
            char *v = encode(certs[c], all_formats[k], NULL);
            assert_decodes(v, strlen(v), all_formats[k], certs[c], all_formats[k]);
            assert_decodes(v, strlen(v), CERTGATE_FMT_AUTO, certs[c], all_formats[k]);
            free(v);
        }
    }
    X509_free(certs[2]);
    X509_free(certs[3]);
    pki_node_free(&r);
    pki_node_free(&e);
}

static void test_rfc9440_golden(void **state)
{
    size_t len, der_len;
    char *v = (char *)slurp("rfc9440/client-cert.value", &len);
    char *chain = (char *)slurp("rfc9440/client-cert-chain.value", &len);
    unsigned char *der = slurp("rfc9440/cert0.der", &der_len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);

    assert_non_null(x);
    /* The file ends with a newline: surrounding whitespace is tolerated. */
    assert_decodes(v, strlen(v), CERTGATE_FMT_RFC9440, x, CERTGATE_FMT_RFC9440);
    assert_decodes(v, strlen(v), CERTGATE_FMT_AUTO, x, CERTGATE_FMT_RFC9440);
    assert_refused(chain, strlen(chain), CERTGATE_FMT_AUTO,
                   "rfc9440: the value is a list; Client-Cert holds exactly one ':<base64 DER>:'");
    X509_free(x);
    free(der);
    free(chain);
    free(v);
}

static void test_pem_variants(void **state)
{
    struct pki_opts rsa = {.key = "rsa:2048"};
    struct pki_node n = pki_issue("/CN=PEM Client", NULL, &rsa);
    char *pem = pem_of(n.cert), *v;
    size_t i, o;

    /* Plain PEM, as nginx $ssl_client_raw_cert sends it. */
    assert_decodes(pem, strlen(pem), CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_PEM_URLENCODED);
    assert_decodes(pem, strlen(pem), CERTGATE_FMT_PEM_URLENCODED, n.cert,
                   CERTGATE_FMT_PEM_URLENCODED);
    /* Newlines turned into spaces (App Service), CRLF, and nginx's tab-indented lines. */
    v = strdup(pem);
    for (i = 0; v[i] != '\0'; i++)
        if (v[i] == '\n')
            v[i] = ' ';
    assert_decodes(v, strlen(v), CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_PEM_URLENCODED);
    free(v);
    v = malloc(strlen(pem) * 2 + 1);
    for (i = 0, o = 0; pem[i] != '\0'; i++) {
        if (pem[i] == '\n')
            v[o++] = '\r';
        v[o++] = pem[i];
    }
    v[o] = '\0';
    assert_decodes(v, o, CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_PEM_URLENCODED);
    for (i = 0, o = 0; pem[i] != '\0'; i++) {
        v[o++] = pem[i];
        if (pem[i] == '\n' && pem[i + 1] != '\0')
            v[o++] = '\t';
    }
    v[o] = '\0';
    assert_decodes(v, o, CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_PEM_URLENCODED);
    free(v);
    /* Every byte percent-encoded, '-' too, in lower-case hex. */
    v = malloc(strlen(pem) * 3 + 1);
    for (i = 0, o = 0; pem[i] != '\0'; i++)
        o += (size_t)sprintf(v + o, "%%%02x", (unsigned char)pem[i]);
    assert_memory_equal(v, "%2d%2d%2d%2d%2d%42%45", 21);
    assert_decodes(v, o, CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_PEM_URLENCODED);
    free(v);
    free(pem);
    pki_node_free(&n);
}

static void test_pem_refusals(void **state)
{
    struct pki_node n = pki_issue("/CN=Refused", NULL, NULL);
    char *pem = pem_of(n.cert), *v, *want;
    size_t plen = strlen(pem);

    assert_refused("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", 56,
                   CERTGATE_FMT_AUTO,
                   "pem-urlencoded: a 'PRIVATE KEY' PEM block at byte 0: only CERTIFICATE blocks "
                   "are read");
    v = fmt("%s-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", pem);
    want = fmt("pem-urlencoded: a 'EC PRIVATE KEY' PEM block at byte %zu: only CERTIFICATE "
               "blocks are read",
               plen);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(v);
    free(want);
    v = fmt("%sgarbage", pem);
    want = fmt("pem-urlencoded: text after the PEM block at byte %zu", plen);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(v);
    free(want);
    /* No END line; a second BEGIN where the END should be. */
    v = strdup(pem);
    strstr(v, "-----END")[0] = '\0';
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO,
                   "pem-urlencoded: the PEM block has no END line");
    free(v);
    v = fmt("%.*s%s", (int)(strstr(pem, "-----END") - pem), pem, pem);
    want = fmt("pem-urlencoded: a '-' inside the PEM block at byte %zu (an END line missing?)",
               (size_t)(strstr(pem, "-----END") - pem));
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(v);
    free(want);
    assert_refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n", 54,
                   CERTGATE_FMT_AUTO,
                   "pem-urlencoded: the PEM block does not end with '-----END CERTIFICATE-----'");
    /* A PEM header line (Proc-Type) is not base64. */
    assert_refused("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n"
                   "-----END CERTIFICATE-----\n",
                   78, CERTGATE_FMT_AUTO,
                   "pem-urlencoded: a '-' inside the PEM block at byte 32 (an END line missing?)");
    assert_refused("-----BEGIN CERTIFICATE-----\nMIIB:AAA\n-----END CERTIFICATE-----\n", 62,
                   CERTGATE_FMT_AUTO, "pem-urlencoded: byte 5 (':') is not base64");
    assert_refused("-----BEGIN%20CERTIFICATE-----%0AMII%G0", 38, CERTGATE_FMT_AUTO,
                   "pem-urlencoded: the '%' at byte 35 is not followed by two hex digits");
    assert_refused("-----BEGIN%20CERTIFICATE-----%0", 31, CERTGATE_FMT_AUTO,
                   "pem-urlencoded: the '%' at byte 29 is not followed by two hex digits");
    assert_refused("hello", 5, CERTGATE_FMT_PEM_URLENCODED,
                   "pem-urlencoded: no '-----BEGIN CERTIFICATE-----' line at byte 0");
    free(pem);
    pki_node_free(&n);
}

static void test_chain_in_pem(void **state)
{
    struct pki_opts ca = {.ca = 1};
    struct pki_node nodes[12];
    char *pem = strdup(""), *v, *enc;
    STACK_OF(X509) *chain = NULL;
    enum certgate_format used;
    char err[256];
    X509 *y;
    int i;

    /* A chain of 12: leaf first, as a client sends it, in plain and in urlencoded PEM. */
    nodes[11] = pki_issue("/CN=Root", NULL, &ca);
    for (i = 10; i >= 0; i--) {
        char subject[32];
        snprintf(subject, sizeof(subject), "/CN=Level %d", i);
        nodes[i] = pki_issue(subject, &nodes[i + 1], i > 0 ? &ca : NULL);
    }
    for (i = 0; i < 12; i++) {
        char *one = pem_of(nodes[i].cert);
        v = fmt("%s%s", pem, one);
        free(pem);
        free(one);
        pem = v;
    }
    y = certgate_decode(pem, strlen(pem), CERTGATE_FMT_AUTO, &chain, &used, err, sizeof(err));
    assert_non_null(y);
    assert_int_equal(X509_cmp(y, nodes[0].cert), 0);
    assert_int_equal(sk_X509_num(chain), 11);
    for (i = 1; i < 12; i++)
        assert_int_equal(X509_cmp(sk_X509_value(chain, i - 1), nodes[i].cert), 0);
    sk_X509_pop_free(chain, X509_free);
    X509_free(y);
    /* With chain_out NULL the extra certificates are simply dropped. */
    y = certgate_decode(pem, strlen(pem), CERTGATE_FMT_AUTO, NULL, NULL, err, sizeof(err));
    assert_non_null(y);
    X509_free(y);

    enc = malloc(strlen(pem) * 3 + 1);
    for (i = 0; pem[i] != '\0'; i++)
        sprintf(enc + 3 * i, "%%%02X", (unsigned char)pem[i]);
    chain = NULL;
    y = certgate_decode(enc, strlen(enc), CERTGATE_FMT_PEM_URLENCODED, &chain, NULL, err,
                        sizeof(err));
    assert_non_null(y);
    assert_int_equal(sk_X509_num(chain), 11);
    sk_X509_pop_free(chain, X509_free);
    X509_free(y);
    free(enc);

    /* 65 certificates are more than a value may carry. */
    v = strdup("");
    for (i = 0; i < 65; i++) {
        char *one = pem_of(nodes[i % 12].cert), *more = fmt("%s%s", v, one);
        free(v);
        free(one);
        v = more;
    }
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "pem-urlencoded: more than 64 certificates");
    free(v);
    free(pem);
    for (i = 0; i < 12; i++)
        pki_node_free(&nodes[i]);
}

/* Traefik's X-Forwarded-Tls-Client-Cert: the base64 DERs the client sent, comma-separated. */
static void test_base64_list(void **state)
{
    struct pki_opts ca = {.ca = 1};
    struct pki_node root = pki_issue("/CN=Root", NULL, &ca);
    struct pki_node leaf = pki_issue("/CN=Traefik Client", &root, NULL);
    char *a = certgate_encode(leaf.cert, CERTGATE_FMT_BASE64_DER);
    char *b = certgate_encode(root.cert, CERTGATE_FMT_BASE64_DER);
    char *v = fmt("%s,%s", a, b), *want;
    STACK_OF(X509) *chain = NULL;
    enum certgate_format used;
    char err[256];
    X509 *y;
    int i;

    y = certgate_decode(v, strlen(v), CERTGATE_FMT_AUTO, &chain, &used, err, sizeof(err));
    assert_non_null(y);
    assert_int_equal(used, CERTGATE_FMT_BASE64_DER);
    assert_int_equal(X509_cmp(y, leaf.cert), 0);
    assert_int_equal(sk_X509_num(chain), 1);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), root.cert), 0);
    sk_X509_pop_free(chain, X509_free);
    X509_free(y);
    free(v);
    /* Spaces around the commas are tolerated; an empty or broken element is not. */
    v = fmt("%s , %s", a, b);
    y = certgate_decode(v, strlen(v), CERTGATE_FMT_BASE64_DER, NULL, NULL, err, sizeof(err));
    assert_non_null(y);
    assert_int_equal(X509_cmp(y, leaf.cert), 0);
    X509_free(y);
    free(v);
    v = fmt("%s,,%s", a, b);
    want =
        fmt("base64-der: certificate 2 of the list (at byte %zu): no base64 data", strlen(a) + 1);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    v = fmt("%s,%.20s", a, b);
    want = fmt("base64-der: certificate 2 of the list (at byte %zu): the decoded 15 bytes are not "
               "a DER certificate",
               strlen(a) + 1);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    /* The list is base64-der's alone: RFC 9440 holds one certificate. */
    v = fmt(":%s,%s:", a, b);
    want = fmt("rfc9440: byte %zu (',') is not base64", strlen(a));
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    v = strdup(a);
    for (i = 0; i < 64; i++) {
        char *more = fmt("%s,%s", v, b);
        free(v);
        v = more;
    }
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "base64-der: more than 64 certificates");
    free(v);
    free(a);
    free(b);
    pki_node_free(&leaf);
    pki_node_free(&root);
}

static void test_base64_and_hex_strictness(void **state)
{
    struct pki_opts rsa = {.key = "rsa:2048"};
    /* A DER length that needs base64 padding ("Strict", "Strict-", ...: one of three does). */
    struct pki_node n = pki_issue("/CN=Strict", NULL, &rsa);
    unsigned char *der = NULL, *longer;
    int der_len = i2d_X509(n.cert, &der);

    while (der_len % 3 == 0) {
        char subject[64];
        snprintf(subject, sizeof(subject), "/CN=Strict-%d", der_len);
        OPENSSL_free(der);
        der = NULL;
        pki_node_free(&n);
        n = pki_issue(subject, NULL, &rsa);
        der_len = i2d_X509(n.cert, &der);
    }
    char *b64 = certgate_base64(der, (size_t)der_len),
         *hex = certgate_encode(n.cert, CERTGATE_FMT_HEX);
    char *v, *want;
    size_t len = strlen(b64), i;

    /* Unpadded base64 and lower-case hex are read; surrounding whitespace is tolerated. */
    v = strdup(b64);
    while (v[strlen(v) - 1] == '=')
        v[strlen(v) - 1] = '\0';
    assert_true(strlen(v) < len); /* this DER length needs padding, so the case is real */
    assert_decodes(v, strlen(v), CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_BASE64_DER);
    free(v);
    v = fmt(" \t%s\r\n", b64);
    assert_decodes(v, strlen(v), CERTGATE_FMT_BASE64_DER, n.cert, CERTGATE_FMT_BASE64_DER);
    free(v);
    v = strdup(hex);
    for (i = 0; v[i] != '\0'; i++)
        if (v[i] >= 'A' && v[i] <= 'F')
            v[i] = (char)(v[i] + 32);
    assert_decodes(v, strlen(v), CERTGATE_FMT_AUTO, n.cert, CERTGATE_FMT_HEX);
    free(v);

    /* URL-safe alphabet, whitespace inside, a NUL inside, bad padding. */
    v = strdup(b64);
    for (i = 0; v[i] != '\0' && v[i] != '+' && v[i] != '/'; i++)
        ;
    assert_true(v[i] != '\0');
    v[i] = v[i] == '+' ? '-' : '_';
    want = fmt("base64-der: byte %zu ('%c') belongs to URL-safe base64; the standard alphabet "
               "(with + and /) is expected",
               i, v[i]);
    assert_refused(v, len, CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    v = fmt("%.64s\n%s", b64, b64 + 64);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "base64-der: byte 64 (0x0A) is not base64");
    v[64] = '\0';
    assert_refused(v, len + 1, CERTGATE_FMT_BASE64_DER, "base64-der: byte 64 (0x00) is not base64");
    free(v);
    assert_refused("QUJD=", 5, CERTGATE_FMT_BASE64_DER,
                   "base64-der: base64 length is wrong (4 characters and 1 '=')");
    assert_refused("QUI===", 6, CERTGATE_FMT_BASE64_DER,
                   "base64-der: base64 length is wrong (3 characters and 3 '=')");
    assert_refused("QQ=", 3, CERTGATE_FMT_BASE64_DER,
                   "base64-der: base64 length is wrong (2 characters and 1 '=')");
    v = fmt("%.8s=%s", b64, b64 + 8);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO,
                   "base64-der: base64 data follows '=' padding at byte 9");
    free(v);
    assert_refused("aGVsbG8=", 8, CERTGATE_FMT_AUTO,
                   "base64-der: the decoded 5 bytes are not a DER certificate");
    assert_refused("====", 4, CERTGATE_FMT_BASE64_DER, "base64-der: no base64 data");
    assert_refused("M", 1, CERTGATE_FMT_BASE64_DER,
                   "base64-der: base64 length is wrong (1 characters and 0 '=')");

    /* Trailing bytes after the DER, in each byte format. */
    longer = malloc((size_t)der_len + 2);
    memcpy(longer, der, (size_t)der_len);
    longer[der_len] = 0;
    longer[der_len + 1] = 0;
    v = certgate_base64(longer, (size_t)der_len + 1);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "base64-der: 1 byte after the DER certificate");
    free(v);
    v = certgate_base64(longer, (size_t)der_len + 2);
    want = fmt(":%s:", v);
    assert_refused(want, strlen(want), CERTGATE_FMT_AUTO,
                   "rfc9440: 2 bytes after the DER certificate");
    free(want);
    free(v);
    v = fmt("%s0000", hex);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "hex: 2 bytes after the DER certificate");
    free(v);

    /* Hex: an odd count, a stray byte, a truncated certificate. */
    v = fmt("%s0", hex);
    want = fmt("hex: odd number of hex digits (%zu)", strlen(hex) + 1);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    v = fmt("%.10s:%s", hex, hex + 10);
    assert_refused(v, strlen(v), CERTGATE_FMT_HEX, "hex: byte 10 (':') is not a hex digit");
    free(v);
    v = fmt("%.100s", hex);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO,
                   "hex: the decoded 50 bytes are not a DER certificate");
    free(v);

    free(longer);
    free(b64);
    free(hex);
    OPENSSL_free(der);
    pki_node_free(&n);
}

static void test_rfc9440_refusals(void **state)
{
    struct pki_node n = pki_issue("/CN=SF", NULL, NULL);
    char *b64 = certgate_encode(n.cert, CERTGATE_FMT_BASE64_DER), *v, *want;

    v = fmt(":%s:;a=1", b64);
    want = fmt("rfc9440: byte %zu follows the closing ':'", strlen(b64) + 2);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, want);
    free(want);
    free(v);
    v = fmt(":%s", b64);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "rfc9440: the value is not ':<base64 DER>:'");
    free(v);
    assert_refused(b64, strlen(b64), CERTGATE_FMT_RFC9440,
                   "rfc9440: the value is not ':<base64 DER>:'");
    assert_refused("::", 2, CERTGATE_FMT_AUTO, "rfc9440: no base64 data");
    v = fmt(": %s:", b64);
    assert_refused(v, strlen(v), CERTGATE_FMT_AUTO, "rfc9440: byte 0 (0x20) is not base64");
    free(v);
    free(b64);
    pki_node_free(&n);
}

/* The order of detection, on one certificate. */
static void test_auto_detection(void **state)
{
    struct pki_node n = pki_issue("/CN=Auto", NULL, NULL);
    char err[256];
    enum certgate_format used;
    X509 *y;

    assert_refused("", 0, CERTGATE_FMT_AUTO, "the value is empty");
    assert_refused(" \t\r\n", 4, CERTGATE_FMT_AUTO, "the value is empty");
    assert_refused(NULL, 0, CERTGATE_FMT_AUTO, "the value is empty");
    assert_refused("x", 1, (enum certgate_format)42, "unknown format 42");
    /* Each first-byte rule picks its format, and the reason names it. */
    assert_refused(":abc", 4, CERTGATE_FMT_AUTO, "rfc9440: the value is not ':<base64 DER>:'");
    assert_refused("-----BEGIN", 10, CERTGATE_FMT_AUTO,
                   "pem-urlencoded: no '-----BEGIN CERTIFICATE-----' line at byte 0");
    assert_refused("%2D%2D%2D%2D%2DBEGIN", 20, CERTGATE_FMT_AUTO,
                   "pem-urlencoded: no '-----BEGIN CERTIFICATE-----' line at byte 0");
    assert_refused("Hash=ab", 7, CERTGATE_FMT_AUTO,
                   "xfcc: the last XFCC element (of 1) has no Cert field");
    assert_refused("subject=\"x\"", 11, CERTGATE_FMT_AUTO,
                   "xfcc: the last XFCC element (of 1) has no Cert field");
    assert_refused("ABCDEF", 6, CERTGATE_FMT_AUTO,
                   "hex: the decoded 3 bytes are not a DER certificate");
    assert_refused("Other=1", 7, CERTGATE_FMT_AUTO,
                   "base64-der: base64 data follows '=' padding at byte 6");
    assert_refused("not a cert", 10, CERTGATE_FMT_AUTO, "base64-der: byte 3 (0x20) is not base64");
    /* All hex but odd: still reported as hex (base64 of a DER never starts with a digit). */
    assert_refused("ABCDE", 5, CERTGATE_FMT_AUTO, "hex: odd number of hex digits (5)");

    /* err may be NULL or short; nothing overflows. */
    y = certgate_decode("zz", 2, CERTGATE_FMT_HEX, NULL, &used, NULL, 0);
    assert_null(y);
    assert_int_equal(used, CERTGATE_FMT_HEX);
    memset(err, 'X', sizeof(err));
    y = certgate_decode("zz", 2, CERTGATE_FMT_HEX, NULL, NULL, err, 8);
    assert_null(y);
    assert_string_equal(err, "hex: by");
    assert_int_equal(err[8], 'X');
    pki_node_free(&n);
}

static int teardown(void **state)
{
    pki_keys_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),     cmocka_unit_test(test_round_trip_every_format),
        cmocka_unit_test(test_rfc9440_golden),   cmocka_unit_test(test_pem_variants),
        cmocka_unit_test(test_pem_refusals),     cmocka_unit_test(test_chain_in_pem),
        cmocka_unit_test(test_base64_list),      cmocka_unit_test(test_base64_and_hex_strictness),
        cmocka_unit_test(test_rfc9440_refusals), cmocka_unit_test(test_auto_detection),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
