/* Identity allowlists (SPEC §7 `allow:`): thumbprints, serials, names and SANs.
 * Entries are prepared once at policy build; a judged leaf's digests once per judgement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgate/policy.h"
#include "cert_internal.h"

static const char hex_upper[] = "0123456789ABCDEF";

static const char *const kind_names[CERTGATE_ALLOW_COUNT] = {
    [CERTGATE_ALLOW_SHA1] = "sha1",       [CERTGATE_ALLOW_SHA256] = "sha256",
    [CERTGATE_ALLOW_CN] = "cn",           [CERTGATE_ALLOW_SAN_DNS] = "san_dns",
    [CERTGATE_ALLOW_SAN_URI] = "san_uri", [CERTGATE_ALLOW_SAN_EMAIL] = "san_email",
    [CERTGATE_ALLOW_OU] = "ou",           [CERTGATE_ALLOW_SERIAL] = "serial",
};

const char *cert_allow_kind_name(enum certgate_allow_kind kind)
{
    return (int)kind >= 0 && kind < CERTGATE_ALLOW_COUNT ? kind_names[kind] : "?";
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int certgate_hex_normalize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;

    if (in == NULL || out == NULL || outlen == 0)
        return -1;
    for (; *in != '\0'; in++) {
        char c = *in;

        if (c == ':' || is_space(c))
            continue;
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 'a' + 'A');
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return -1;
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (int)o;
}

/* Drop leading zeros of a normalised hex serial, keeping one digit. */
static void strip_zeros(char *s)
{
    size_t skip = 0, len = strlen(s);

    while (skip + 1 < len && s[skip] == '0')
        skip++;
    memmove(s, s + skip, len - skip + 1);
}

char *cert_allow_prepare(enum certgate_allow_kind kind, const char *value, char *err, size_t errlen)
{
    const char *name = cert_allow_kind_name(kind);
    size_t want = kind == CERTGATE_ALLOW_SHA1 ? 40 : kind == CERTGATE_ALLOW_SHA256 ? 64 : 0;
    char *out;
    int n;

    if ((int)kind < 0 || kind >= CERTGATE_ALLOW_COUNT) {
        cert_text_set(err, errlen, "unknown allow list kind %d", (int)kind);
        return NULL;
    }
    if (value == NULL) {
        cert_text_set(err, errlen, "allow %s entry is missing", name);
        return NULL;
    }
    if (kind != CERTGATE_ALLOW_SHA1 && kind != CERTGATE_ALLOW_SHA256 &&
        kind != CERTGATE_ALLOW_SERIAL) {
        if (value[0] == '\0') {
            cert_text_set(err, errlen, "allow %s entry is empty", name);
            return NULL;
        }
        out = cert_strdup(value);
        if (out == NULL)
            cert_text_set(err, errlen, "out of memory preparing allow %s entries", name);
        return out;
    }
    out = malloc(strlen(value) + 1);
    if (out == NULL) {
        cert_text_set(err, errlen, "out of memory preparing allow %s entries", name);
        return NULL;
    }
    n = certgate_hex_normalize(value, out, strlen(value) + 1);
    if (n < 0 && strstr(value, "\xE2\x80\x8E") != NULL) {
        /* Windows' certificate dialog copies thumbprints with an invisible U+200E in front. */
        cert_text_set(err, errlen,
                      "allow %s entry '%s' holds an invisible U+200E (left-to-right mark), as "
                      "copied from the Windows certificate dialog; retype it",
                      name, value);
    } else if (n < 0) {
        cert_text_set(err, errlen,
                      "allow %s entry '%s' is not hex (digits 0-9 and A-F, ':' or spaces between "
                      "them)",
                      name, value);
    } else if (n == 0) {
        cert_text_set(err, errlen, "allow %s entry is empty", name);
    } else if (want != 0 && (size_t)n != want) {
        cert_text_set(err, errlen, "allow %s entry '%s' has %d hex digits; a %s thumbprint has %zu",
                      name, value, n, kind == CERTGATE_ALLOW_SHA1 ? "SHA-1" : "SHA-256", want);
    } else {
        if (kind == CERTGATE_ALLOW_SERIAL)
            strip_zeros(out);
        return out;
    }
    free(out);
    return NULL;
}

static int digest_hex(X509 *x, const EVP_MD *md, char *out, size_t outlen)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    out[0] = '\0';
    if (!X509_digest(x, md, d, &len) || (size_t)len * 2 + 1 > outlen)
        return -1;
    for (i = 0; i < len; i++) {
        out[2 * i] = hex_upper[d[i] >> 4];
        out[2 * i + 1] = hex_upper[d[i] & 15];
    }
    out[2 * len] = '\0';
    return 0;
}

/* Magnitude of the serial in hex without leading zeros; "" when negative or too long. */
static void serial_facts(X509 *x, char *out, size_t outlen)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    const unsigned char *p = ASN1_STRING_get0_data(serial);
    int len = ASN1_STRING_length(serial), i;
    size_t o = 0;

    out[0] = '\0';
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER || p == NULL)
        return;
    while (len > 0 && p[0] == 0) {
        p++;
        len--;
    }
    if ((size_t)len * 2 + 1 > outlen)
        return;
    for (i = 0; i < len; i++) {
        out[o++] = hex_upper[p[i] >> 4];
        out[o++] = hex_upper[p[i] & 15];
    }
    out[o] = '\0';
    if (o == 0)
        snprintf(out, outlen, "0");
    else
        strip_zeros(out);
}

int cert_leaf_facts_init(X509 *leaf, struct cert_leaf_facts *f)
{
    memset(f, 0, sizeof(*f));
    if (digest_hex(leaf, EVP_sha1(), f->sha1, sizeof(f->sha1)) != 0 ||
        digest_hex(leaf, EVP_sha256(), f->sha256, sizeof(f->sha256)) != 0)
        return -1;
    serial_facts(leaf, f->serial, sizeof(f->serial));
    f->san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    return 0;
}

void cert_leaf_facts_clear(struct cert_leaf_facts *f)
{
    GENERAL_NAMES_free(f->san);
    memset(f, 0, sizeof(*f));
}

/* Exact bytes of an attribute of the subject, as UTF-8, equal to <value>? */
static int subject_attr_matches(X509 *leaf, int nid, const char *value)
{
    const X509_NAME *name = X509_get_subject_name(leaf);
    size_t vlen = strlen(value);
    int idx = -1;

    while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0) {
        const ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, data);
        int same = len >= 0 && (size_t)len == vlen && memcmp(utf8, value, vlen) == 0;

        OPENSSL_free(utf8);
        if (same)
            return 1;
    }
    return 0;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* <s> (IA5, may hold a NUL) equals <value>, ASCII case folded when <fold>. */
static int ia5_equals(const ASN1_STRING *s, const char *value, int fold)
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t len = (size_t)ASN1_STRING_length(s), i;

    if (p == NULL || len != strlen(value))
        return 0;
    for (i = 0; i < len; i++) {
        int a = p[i], b = (unsigned char)value[i];

        if (fold ? ascii_lower(a) != ascii_lower(b) : a != b)
            return 0;
    }
    return 1;
}

static int san_matches(const GENERAL_NAMES *san, int type, const char *value, int fold)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);

        if (gn->type == type && ia5_equals(gn->d.ia5, value, fold))
            return 1;
    }
    return 0;
}

int cert_allow_match_prepared(X509 *leaf, const struct cert_leaf_facts *facts,
                              enum certgate_allow_kind kind, const char *value)
{
    switch (kind) {
    case CERTGATE_ALLOW_SHA1:
        return strcmp(facts->sha1, value) == 0;
    case CERTGATE_ALLOW_SHA256:
        return strcmp(facts->sha256, value) == 0;
    case CERTGATE_ALLOW_SERIAL:
        return facts->serial[0] != '\0' && strcmp(facts->serial, value) == 0;
    case CERTGATE_ALLOW_CN:
        return subject_attr_matches(leaf, NID_commonName, value);
    case CERTGATE_ALLOW_OU:
        return subject_attr_matches(leaf, NID_organizationalUnitName, value);
    case CERTGATE_ALLOW_SAN_DNS:
        return san_matches(facts->san, GEN_DNS, value, 1);
    case CERTGATE_ALLOW_SAN_URI:
        return san_matches(facts->san, GEN_URI, value, 0);
    case CERTGATE_ALLOW_SAN_EMAIL:
        return san_matches(facts->san, GEN_EMAIL, value, 1);
    default:
        return 0;
    }
}

int certgate_allow_match(X509 *leaf, enum certgate_allow_kind kind, const char *value)
{
    struct cert_leaf_facts facts;
    char *prepared;
    int match;

    if (leaf == NULL || value == NULL)
        return 0;
    prepared = cert_allow_prepare(kind, value, NULL, 0);
    if (prepared == NULL)
        return 0;
    if (cert_leaf_facts_init(leaf, &facts) != 0) {
        cert_leaf_facts_clear(&facts);
        free(prepared);
        return 0;
    }
    match = cert_allow_match_prepared(leaf, &facts, kind, prepared);
    cert_leaf_facts_clear(&facts);
    free(prepared);
    return match;
}
