/* X509 -> forwarded header value, in every format of SPEC §5 (byte-exact). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgate/certgate.h"
#include "cert_internal.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex_upper[] = "0123456789ABCDEF";

#define PEM_BEGIN      "-----BEGIN CERTIFICATE-----\n"
#define PEM_END        "-----END CERTIFICATE-----\n"
#define PEM_LINE_CHARS 64

/* Characters of base64 for <len> bytes, or SIZE_MAX when that overflows. */
static size_t b64_len(size_t len)
{
    if (len / 3 >= SIZE_MAX / 4 - 1)
        return SIZE_MAX;
    return (len + 2) / 3 * 4;
}

/* Write the base64 of <data> into <out> (b64_len(len) bytes, no NUL). */
static void b64_write(const unsigned char *data, size_t len, char *out)
{
    size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
}

char *certgate_base64(const unsigned char *data, size_t len)
{
    size_t n = b64_len(len);
    char *out;

    if (n == SIZE_MAX || (data == NULL && len != 0))
        return NULL;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    b64_write(data, len, out);
    out[n] = '\0';
    return out;
}

/* DER of <x> in a buffer the caller frees with OPENSSL_free; NULL on failure. */
static unsigned char *der_of(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n;

    if (x == NULL)
        return NULL;
    n = i2d_X509(x, &der);
    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
}

/* ":<b64>:" (RFC 9440 / RFC 8941 byte sequence) written at <out>; returns chars written. */
static size_t sf_binary_write(const unsigned char *der, size_t len, char *out)
{
    size_t n = b64_len(len);

    out[0] = ':';
    b64_write(der, len, out + 1);
    out[n + 1] = ':';
    return n + 2;
}

static char *encode_rfc9440(const unsigned char *der, size_t len)
{
    char *out = malloc(b64_len(len) + 3);

    if (out == NULL)
        return NULL;
    out[sf_binary_write(der, len, out)] = '\0';
    return out;
}

static char *encode_hex(const unsigned char *der, size_t len)
{
    char *out;
    size_t i;

    if (len > (SIZE_MAX - 1) / 2)
        return NULL;
    out = malloc(len * 2 + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        out[2 * i] = hex_upper[der[i] >> 4];
        out[2 * i + 1] = hex_upper[der[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

/* RFC 3986 unreserved: the only bytes a URI component keeps as they are. */
static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Append <s> percent-encoded at <out>; returns chars written. */
static size_t pct_write(const char *s, size_t len, char *out)
{
    size_t o = 0, i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex_upper[c >> 4];
            out[o++] = hex_upper[c & 15];
        }
    }
    return o;
}

/* The PEM text of <der>: 64-char base64 lines, LF line ends, trailing LF. */
static char *pem_text(const unsigned char *der, size_t der_len, size_t *pem_len)
{
    size_t n = b64_len(der_len), lines, total, o, i;
    char *b64, *pem;

    if (n == SIZE_MAX)
        return NULL;
    lines = (n + PEM_LINE_CHARS - 1) / PEM_LINE_CHARS;
    total = strlen(PEM_BEGIN) + n + lines + strlen(PEM_END);
    b64 = malloc(n + 1);
    pem = malloc(total + 1);
    if (b64 == NULL || pem == NULL) {
        free(b64);
        free(pem);
        return NULL;
    }
    b64_write(der, der_len, b64);
    o = strlen(PEM_BEGIN);
    memcpy(pem, PEM_BEGIN, o);
    for (i = 0; i < n; i += PEM_LINE_CHARS) {
        size_t chunk = n - i < PEM_LINE_CHARS ? n - i : PEM_LINE_CHARS;
        memcpy(pem + o, b64 + i, chunk);
        o += chunk;
        pem[o++] = '\n';
    }
    memcpy(pem + o, PEM_END, strlen(PEM_END));
    o += strlen(PEM_END);
    pem[o] = '\0';
    free(b64);
    *pem_len = o;
    return pem;
}

static char *encode_pem_urlencoded(const unsigned char *der, size_t len)
{
    size_t pem_len, o;
    char *pem = pem_text(der, len, &pem_len), *out;

    if (pem == NULL)
        return NULL;
    /* Worst case every byte becomes %XX; PEM sizes are far from overflowing. */
    out = malloc(pem_len * 3 + 1);
    if (out != NULL) {
        o = pct_write(pem, pem_len, out);
        out[o] = '\0';
    }
    free(pem);
    return out;
}

char *certgate_encode(X509 *leaf, enum certgate_format fmt)
{
    unsigned char *der;
    size_t len = 0;
    char *out = NULL;

    /* XFCC needs the chain and the gateway's own URI: certgate_encode_xfcc. */
    if (fmt == CERTGATE_FMT_XFCC)
        return NULL;
    der = der_of(leaf, &len);
    if (der == NULL)
        return NULL;
    switch (fmt) {
    case CERTGATE_FMT_BASE64_DER:
        out = certgate_base64(der, len);
        break;
    case CERTGATE_FMT_PEM_URLENCODED:
        out = encode_pem_urlencoded(der, len);
        break;
    case CERTGATE_FMT_HEX:
        out = encode_hex(der, len);
        break;
    case CERTGATE_FMT_RFC9440:
        out = encode_rfc9440(der, len);
        break;
    case CERTGATE_FMT_XFCC:
    case CERTGATE_FMT_AUTO: /* decoding only */
        break;
    }
    OPENSSL_free(der);
    return out;
}

char *certgate_encode_rfc9440_chain(STACK_OF(X509) *chain)
{
    int n = chain != NULL ? sk_X509_num(chain) : 0, i;
    unsigned char **ders;
    size_t *lens, total = 1, o = 0;
    char *out = NULL;

    if (n <= 1)
        return cert_strdup("");
    ders = calloc((size_t)n, sizeof(*ders));
    lens = calloc((size_t)n, sizeof(*lens));
    if (ders == NULL || lens == NULL)
        goto out;
    for (i = 1; i < n; i++) {
        ders[i] = der_of(sk_X509_value(chain, i), &lens[i]);
        if (ders[i] == NULL)
            goto out;
        total += b64_len(lens[i]) + 2 + (i > 1 ? 2 : 0);
    }
    out = malloc(total);
    if (out == NULL)
        goto out;
    for (i = 1; i < n; i++) {
        if (i > 1) {
            out[o++] = ',';
            out[o++] = ' ';
        }
        o += sf_binary_write(ders[i], lens[i], out + o);
    }
    out[o] = '\0';
out:
    if (ders != NULL)
        for (i = 1; i < n; i++)
            OPENSSL_free(ders[i]);
    free(ders);
    free(lens);
    return out;
}

/* ---- Envoy x-forwarded-client-cert (SPEC §5) ---- */

#define XFCC_MAX (1u << 20) /* a leaf, a long chain and their SANs fit many times over */

/* A growing string with its limit; any failure sticks in <err>. */
struct xfcc_out {
    char *p;
    size_t len, cap;
    int err;
};

static void out_put(struct xfcc_out *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (n > XFCC_MAX - o->len) {
        o->err = 1;
        return;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        char *p;
        while (cap < o->len + n + 1)
            cap *= 2;
        p = realloc(o->p, cap);
        if (p == NULL) {
            o->err = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_str(struct xfcc_out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

/* <s> as an XFCC value: quoted when it holds , ; = or ", and then '"' and '\' escaped. */
static void out_value(struct xfcc_out *o, const char *s, int always_quote)
{
    size_t i;

    if (!always_quote && strpbrk(s, ",;=\"") == NULL) {
        out_str(o, s);
        return;
    }
    out_put(o, "\"", 1);
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == '"' || s[i] == '\\')
            out_put(o, "\\", 1);
        out_put(o, &s[i], 1);
    }
    out_put(o, "\"", 1);
}

/* An IA5String SAN (or the configured By) as header-safe text: bytes outside printable ASCII,
 * and '\' itself, become "\HH", so that "\HH" always means one byte. NULL on failure. */
static char *san_text(const unsigned char *s, size_t len)
{
    char *out = len <= (SIZE_MAX - 1) / 3 ? malloc(len * 3 + 1) : NULL;
    size_t i, o = 0;

    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] >= 0x7F || s[i] == '\\') {
            out[o++] = '\\';
            out[o++] = hex_upper[s[i] >> 4];
            out[o++] = hex_upper[s[i] & 15];
        } else {
            out[o++] = (char)s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static void out_field(struct xfcc_out *o, const char *key, const unsigned char *v, size_t len)
{
    char *text = san_text(v, len);

    if (text == NULL) {
        o->err = 1;
        return;
    }
    if (o->len > 0)
        out_put(o, ";", 1);
    out_str(o, key);
    out_put(o, "=", 1);
    out_value(o, text, 0);
    free(text);
}

/* '"' + the pem-urlencoded PEMs of <certs> (first <n>) + '"'. */
static void out_pems(struct xfcc_out *o, X509 *const *certs, int n)
{
    int i;

    out_put(o, "\"", 1);
    for (i = 0; i < n && !o->err; i++) {
        size_t len = 0;
        unsigned char *der = der_of(certs[i], &len);
        char *enc = der != NULL ? encode_pem_urlencoded(der, len) : NULL;

        if (enc == NULL)
            o->err = 1;
        else
            out_str(o, enc);
        free(enc);
        OPENSSL_free(der);
    }
    out_put(o, "\"", 1);
}

/* Every SAN of <type> in certificate order, as KEY=value fields. */
static void out_sans(struct xfcc_out *o, const GENERAL_NAMES *sans, int type, const char *key)
{
    int i;

    for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        const ASN1_IA5STRING *s;

        if (gn->type != type)
            continue;
        s = type == GEN_URI ? gn->d.uniformResourceIdentifier : gn->d.dNSName;
        out_field(o, key, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    }
}

char *certgate_encode_xfcc(X509 *leaf, STACK_OF(X509) *chain, const char *by)
{
    struct xfcc_out o = {NULL, 0, 0, 0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;
    char hash[2 * EVP_MAX_MD_SIZE + 1];
    GENERAL_NAMES *sans;
    char *subject;

    if (leaf == NULL || !X509_digest(leaf, EVP_sha256(), md, &md_len))
        return NULL;
    for (i = 0; i < md_len; i++) {
        hash[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hash[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    hash[2 * md_len] = '\0';
    subject = cert_dn_format(X509_get_subject_name(leaf));
    if (subject == NULL)
        return NULL;
    sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);

    if (by != NULL && by[0] != '\0')
        out_field(&o, "By", (const unsigned char *)by, strlen(by));
    if (o.len > 0)
        out_put(&o, ";", 1);
    out_str(&o, "Hash=");
    out_str(&o, hash);
    out_str(&o, ";Cert=");
    out_pems(&o, &leaf, 1);
    if (chain != NULL && sk_X509_num(chain) > 0) {
        int n = sk_X509_num(chain), k;
        X509 **certs = calloc((size_t)n, sizeof(*certs));

        if (certs == NULL) {
            o.err = 1;
        } else {
            for (k = 0; k < n; k++)
                certs[k] = sk_X509_value(chain, k);
            out_str(&o, ";Chain=");
            out_pems(&o, certs, n);
        }
        free(certs);
    }
    out_str(&o, ";Subject=");
    out_value(&o, subject, 1);
    out_sans(&o, sans, GEN_URI, "URI");
    out_sans(&o, sans, GEN_DNS, "DNS");

    GENERAL_NAMES_free(sans);
    free(subject);
    if (o.err) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
