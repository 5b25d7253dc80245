/* See pki_util.h. Included (not linked) by the tests that use it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_util.h"

#define PKI_MAX_KEYS  32
#define PKI_MAX_FILES 64

static struct {
    char spec[32];
    EVP_PKEY *key;
} pki_keys[PKI_MAX_KEYS];

static char pki_dirname[64];
static char pki_files[PKI_MAX_FILES][160];
static int pki_nfiles;

EVP_PKEY *pki_key(const char *spec)
{
    EVP_PKEY *k = NULL;
    int i;

    for (i = 0; i < PKI_MAX_KEYS && pki_keys[i].key != NULL; i++)
        if (strcmp(pki_keys[i].spec, spec) == 0)
            return pki_keys[i].key;
    assert_true(i < PKI_MAX_KEYS);
    if (strncmp(spec, "ec:", 3) == 0) {
        char curve[32];

        snprintf(curve, sizeof(curve), "%.*s", (int)strcspn(spec + 3, "#"), spec + 3);
        k = EVP_EC_gen(curve);
    } else if (strncmp(spec, "rsa:", 4) == 0) {
        k = EVP_RSA_gen((unsigned int)atoi(spec + 4));
    }
    if (k == NULL)
        fail_msg("cannot make a key for %s", spec);
    snprintf(pki_keys[i].spec, sizeof(pki_keys[i].spec), "%s", spec);
    pki_keys[i].key = k;
    return k;
}

void pki_keys_free(void)
{
    int i;

    for (i = 0; i < PKI_MAX_KEYS; i++) {
        EVP_PKEY_free(pki_keys[i].key);
        pki_keys[i].key = NULL;
    }
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        fail_msg("bad extension value '%s'", value);
    assert_true(X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
}

static X509_NAME *slash_name(const char *subject)
{
    X509_NAME *name = X509_NAME_new();
    char buf[256], *part, *save = NULL, *eq;

    assert_non_null(name);
    snprintf(buf, sizeof(buf), "%s", subject);
    for (part = strtok_r(buf, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
        eq = strchr(part, '=');
        assert_non_null(eq);
        *eq = '\0';
        assert_true(X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8,
                                               (const unsigned char *)eq + 1, -1, -1, 0));
    }
    return name;
}

static X509 *reparse(X509 *x)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_X509(x, &der);
    X509 *parsed;

    assert_true(len > 0);
    p = der;
    parsed = d2i_X509(NULL, &p, len);
    assert_non_null(parsed);
    OPENSSL_free(der);
    X509_free(x);
    return parsed;
}

struct pki_node pki_issue(const char *subject, const struct pki_node *issuer,
                          const struct pki_opts *o)
{
    static const struct pki_opts defaults;
    static unsigned long counter = 0x1000;
    struct pki_node n;
    X509_NAME *name;
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    char hex[32];

    if (o == NULL)
        o = &defaults;
    n.key = pki_key(o->key != NULL ? o->key : "ec:P-256");
    assert_non_null(x);
    assert_true(X509_set_version(x, 2));
    snprintf(hex, sizeof(hex), "%lX", counter++);
    assert_true(BN_hex2bn(&bn, o->serial != NULL ? o->serial : hex) > 0);
    assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
    BN_free(bn);
    name = slash_name(subject);
    assert_true(X509_set_subject_name(x, name));
    assert_true(
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->cert) : name));
    X509_NAME_free(name);
    assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x),
                                     o->not_before ? o->not_before : "20000101000000Z"));
    assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x),
                                     o->not_after ? o->not_after : "20991231235959Z"));
    assert_true(X509_set_pubkey(x, n.key));
    add_ext(x, issuer ? issuer->cert : x, NID_basic_constraints,
            o->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, issuer ? issuer->cert : x, NID_key_usage,
            o->ku   ? o->ku
            : o->ca ? "critical,keyCertSign,cRLSign"
                    : "critical,digitalSignature");
    add_ext(x, issuer ? issuer->cert : x, NID_subject_key_identifier, "hash");
    if (issuer != NULL)
        add_ext(x, issuer->cert, NID_authority_key_identifier, "keyid:always");
    if (o->eku != NULL)
        add_ext(x, issuer ? issuer->cert : x, NID_ext_key_usage, o->eku);
    if (o->san != NULL)
        add_ext(x, issuer ? issuer->cert : x, NID_subject_alt_name, o->san);
    assert_true(X509_sign(x, issuer ? issuer->key : n.key, o->md ? o->md : EVP_sha256()) > 0);
    n.cert = reparse(x);
    return n;
}

void pki_node_free(struct pki_node *n)
{
    X509_free(n->cert);
    n->cert = NULL;
    n->key = NULL;
}

X509_CRL *pki_crl(const struct pki_node *issuer, X509 *const *revoked, int n,
                  const char *last_update, const char *next_update, EVP_PKEY *signer)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    unsigned char *der = NULL;
    const unsigned char *p;
    X509_CRL *parsed;
    int i, len;

    assert_non_null(crl);
    assert_true(X509_CRL_set_version(crl, 1));
    assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert)));
    assert_true(ASN1_TIME_set_string(t, last_update));
    assert_true(X509_CRL_set1_lastUpdate(crl, t));
    if (next_update != NULL) {
        assert_true(ASN1_TIME_set_string(t, next_update));
        assert_true(X509_CRL_set1_nextUpdate(crl, t));
    }
    for (i = 0; i < n; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();

        assert_true(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoked[i])));
        assert_true(ASN1_TIME_set_string(t, "20240101000000Z"));
        assert_true(X509_REVOKED_set_revocationDate(rev, t));
        assert_true(ASN1_ENUMERATED_set(reason, 1));
        assert_true(X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0));
        ASN1_ENUMERATED_free(reason);
        assert_true(X509_CRL_add0_revoked(crl, rev));
    }
    X509V3_set_ctx(&v3, issuer->cert, NULL, NULL, crl, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
    assert_non_null(ext);
    assert_true(X509_CRL_add_ext(crl, ext, -1));
    X509_EXTENSION_free(ext);
    assert_true(X509_CRL_sort(crl));
    assert_true(X509_CRL_sign(crl, signer ? signer : issuer->key, EVP_sha256()) > 0);
    ASN1_TIME_free(t);
    len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    p = der;
    parsed = d2i_X509_CRL(NULL, &p, len);
    assert_non_null(parsed);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    return parsed;
}

const char *pki_dir(void)
{
    if (pki_dirname[0] == '\0') {
        snprintf(pki_dirname, sizeof(pki_dirname), "/tmp/certgate-pki-XXXXXX");
        assert_non_null(mkdtemp(pki_dirname));
    }
    return pki_dirname;
}

const char *pki_path(const char *name)
{
    int i;

    for (i = 0; i < pki_nfiles; i++) {
        const char *base = strrchr(pki_files[i], '/') + 1;
        if (strcmp(base, name) == 0)
            return pki_files[i];
    }
    assert_true(pki_nfiles < PKI_MAX_FILES);
    snprintf(pki_files[pki_nfiles], sizeof(pki_files[0]), "%s/%s", pki_dir(), name);
    return pki_files[pki_nfiles++];
}

const char *pki_write_certs(const char *name, X509 *const *certs, int n)
{
    const char *path = pki_path(name);
    FILE *f = fopen(path, "w");
    int i;

    assert_non_null(f);
    for (i = 0; i < n; i++)
        assert_true(PEM_write_X509(f, certs[i]));
    fclose(f);
    return path;
}

const char *pki_write_crl(const char *name, X509_CRL *crl)
{
    const char *path = pki_path(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(PEM_write_X509_CRL(f, crl));
    fclose(f);
    return path;
}

const char *pki_write_text(const char *name, const char *text)
{
    const char *path = pki_path(name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

void pki_dir_remove(void)
{
    int i;

    for (i = 0; i < pki_nfiles; i++)
        unlink(pki_files[i]);
    pki_nfiles = 0;
    if (pki_dirname[0] != '\0')
        rmdir(pki_dirname);
    pki_dirname[0] = '\0';
}

X509 *pki_with_aia(X509 *x, const struct pki_node *issuer, const char *aia)
{
    X509 *c = X509_dup(x);
    X509V3_CTX v3;
    X509_EXTENSION *e;

    assert_non_null(c);
    X509V3_set_ctx(&v3, issuer->cert, c, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, NID_info_access, aia);
    assert_non_null(e);
    assert_true(X509_add_ext(c, e, -1));
    X509_EXTENSION_free(e);
    assert_true(X509_sign(c, issuer->key, EVP_sha256()) > 0);
    X509_free(x);
    return c;
}

time_t pki_utc(const char *asn1)
{
    ASN1_TIME *t = ASN1_TIME_new();
    struct tm tm;

    assert_true(ASN1_TIME_set_string(t, asn1));
    assert_true(ASN1_TIME_to_tm(t, &tm));
    ASN1_TIME_free(t);
    return timegm(&tm);
}

const char *pki_subject(X509 *x)
{
    static char buf[512];
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;

    assert_non_null(bio);
    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    len = BIO_get_mem_data(bio, &data);
    assert_true(len >= 0 && (size_t)len < sizeof(buf));
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
    BIO_free(bio);
    return buf;
}
