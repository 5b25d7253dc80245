/* Forwarded header value -> X509, for every format of SPEC §5 and auto-detection (SPEC §6).
 * The value comes from the network: every parser is strict, reads by length (a NUL is just a
 * bad byte), and says in one sentence what is wrong. docs/formats.md describes the rules. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"
#include "cert_internal.h"

#define DECODE_MAX_CERTS 64 /* certificates one value may carry, chain included */
#define WHY_LEN          256

#define PEM_BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define PEM_END_CERT   "-----END CERTIFICATE-----"

static const char *const xfcc_keys[] = {"By", "Hash", "Cert", "Chain", "Subject", "URI", "DNS"};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* "'x'" for a printable ASCII byte, "0xHH" otherwise: messages never carry a control byte. */
static const char *show(unsigned char c, char buf[8])
{
    if (c > 0x20 && c < 0x7F)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02X", c);
    return buf;
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t m = strlen(prefix);
    return n >= m && memcmp(s, prefix, m) == 0;
}

/* ---- byte decoders ---- */

/* Standard base64 (RFC 4648 §4): padding optional but exact when present; with <ws_ok>,
 * SP/HT/CR/LF anywhere (PEM bodies). Returns malloc'd bytes, or NULL with a reason in <why>. */
static unsigned char *b64_decode(const char *s, size_t n, int ws_ok, size_t *out_len, char *why)
{
    unsigned char *out = malloc(n / 4 * 3 + 3);
    size_t i, o = 0, chars = 0, pads = 0;
    unsigned long acc = 0;
    char b[8];

    if (out == NULL) {
        cert_text_set(why, WHY_LEN, "out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = b64val(c);

        if (ws_ok && is_ws(c))
            continue;
        if (c == '=') {
            pads++;
            continue;
        }
        if (v < 0 || pads > 0) {
            if (v >= 0)
                cert_text_set(why, WHY_LEN, "base64 data follows '=' padding at byte %zu", i);
            else if (c == '-' || c == '_')
                cert_text_set(why, WHY_LEN,
                              "byte %zu (%s) belongs to URL-safe base64; the standard alphabet "
                              "(with + and /) is expected",
                              i, show(c, b));
            else
                cert_text_set(why, WHY_LEN, "byte %zu (%s) is not base64", i, show(c, b));
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned long)v;
        if (++chars % 4 == 0) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    /* A last group of 2 or 3 characters carries 1 or 2 bytes; padding, if any, completes it. */
    if (chars == 0 || chars % 4 == 1 || (pads > 0 && (chars + pads) % 4 != 0) || pads > 2) {
        if (chars == 0)
            cert_text_set(why, WHY_LEN, "no base64 data");
        else
            cert_text_set(why, WHY_LEN, "base64 length is wrong (%zu characters and %zu '=')",
                          chars, pads);
        free(out);
        return NULL;
    }
    if (chars % 4 == 2) {
        out[o++] = (unsigned char)(acc >> 4);
    } else if (chars % 4 == 3) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    *out_len = o;
    return out;
}

static unsigned char *hex_decode(const char *s, size_t n, size_t *out_len, char *why)
{
    unsigned char *out;
    size_t i;
    char b[8];

    for (i = 0; i < n; i++) {
        if (hexval((unsigned char)s[i]) < 0) {
            cert_text_set(why, WHY_LEN, "byte %zu (%s) is not a hex digit", i,
                          show((unsigned char)s[i], b));
            return NULL;
        }
    }
    if (n % 2 != 0) {
        cert_text_set(why, WHY_LEN, "odd number of hex digits (%zu)", n);
        return NULL;
    }
    out = malloc(n / 2 + 1);
    if (out == NULL) {
        cert_text_set(why, WHY_LEN, "out of memory");
        return NULL;
    }
    for (i = 0; i < n; i += 2)
        out[i / 2] =
            (unsigned char)(hexval((unsigned char)s[i]) << 4 | hexval((unsigned char)s[i + 1]));
    *out_len = n / 2;
    return out;
}

/* %XX (either case) to its byte; every other byte as it is (the PEM parser judges them).
 * Returns malloc'd text of *out_len bytes (NUL-terminated), or NULL with <why>. */
static char *pct_decode(const char *s, size_t n, size_t *out_len, char *why)
{
    char *out = malloc(n + 1);
    size_t i, o = 0;

    if (out == NULL) {
        cert_text_set(why, WHY_LEN, "out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 >= n || hexval((unsigned char)s[i + 1]) < 0 ||
            hexval((unsigned char)s[i + 2]) < 0) {
            cert_text_set(why, WHY_LEN, "the '%%' at byte %zu is not followed by two hex digits",
                          i);
            free(out);
            return NULL;
        }
        out[o++] = (char)(hexval((unsigned char)s[i + 1]) << 4 | hexval((unsigned char)s[i + 2]));
        i += 2;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* ---- DER and PEM ---- */

/* One whole DER certificate: d2i must consume every byte. The caller's OpenSSL error queue is
 * left as it was. */
static X509 *der_cert(const unsigned char *der, size_t len, char *why)
{
    const unsigned char *p = der;
    X509 *x;

    if (len > LONG_MAX) {
        cert_text_set(why, WHY_LEN, "the value is too large");
        return NULL;
    }
    ERR_set_mark();
    x = d2i_X509(NULL, &p, (long)len);
    ERR_pop_to_mark();
    if (x == NULL) {
        cert_text_set(why, WHY_LEN, "the decoded %zu bytes are not a DER certificate", len);
        return NULL;
    }
    if ((size_t)(p - der) != len) {
        cert_text_set(why, WHY_LEN, "%zu byte%s after the DER certificate", len - (size_t)(p - der),
                      len - (size_t)(p - der) == 1 ? "" : "s");
        X509_free(x);
        return NULL;
    }
    return x;
}

static int push_cert(STACK_OF(X509) *out, X509 *x, char *why)
{
    if (sk_X509_num(out) >= DECODE_MAX_CERTS) {
        cert_text_set(why, WHY_LEN, "more than %d certificates", DECODE_MAX_CERTS);
        X509_free(x);
        return -1;
    }
    if (!sk_X509_push(out, x)) {
        cert_text_set(why, WHY_LEN, "out of memory");
        X509_free(x);
        return -1;
    }
    return 0;
}

/* The label of a "-----BEGIN <label>-----" at <s>, for the message; "" when unreadable. */
static void pem_label(const char *s, size_t n, char *label, size_t cap)
{
    size_t i = strlen("-----BEGIN "), k = 0;

    label[0] = '\0';
    if (!starts_with(s, n, "-----BEGIN "))
        return;
    for (; i < n && k + 1 < cap && s[i] >= 0x20 && s[i] < 0x7F && s[i] != '-'; i++)
        label[k++] = s[i];
    label[k] = '\0';
    if (i + 5 > n || memcmp(s + i, "-----", 5) != 0)
        label[0] = '\0';
}

/* One or more "-----BEGIN CERTIFICATE-----" blocks separated and surrounded by SP/HT/CR/LF
 * only; inside a block, base64 with SP/HT/CR/LF anywhere (newlines, or the spaces some
 * gateways put instead). Each certificate is appended to <out>. Returns 0 or -1 with <why>. */
static int pem_certs(const char *s, size_t n, STACK_OF(X509) *out, char *why)
{
    size_t i = 0;
    char label[48];

    while (i < n && is_ws((unsigned char)s[i]))
        i++;
    if (i == n) {
        cert_text_set(why, WHY_LEN, "no PEM block");
        return -1;
    }
    while (i < n) {
        const char *body, *end;
        size_t der_len, blen;
        unsigned char *der;
        X509 *x;

        if (!starts_with(s + i, n - i, PEM_BEGIN_CERT)) {
            pem_label(s + i, n - i, label, sizeof(label));
            if (label[0] != '\0')
                cert_text_set(why, WHY_LEN,
                              "a '%s' PEM block at byte %zu: only CERTIFICATE blocks are read",
                              label, i);
            else if (sk_X509_num(out) > 0)
                cert_text_set(why, WHY_LEN, "text after the PEM block at byte %zu", i);
            else
                cert_text_set(why, WHY_LEN, "no '" PEM_BEGIN_CERT "' line at byte %zu", i);
            return -1;
        }
        i += strlen(PEM_BEGIN_CERT);
        body = s + i;
        end = memmem(body, n - i, "-----END", 8);
        if (end == NULL) {
            cert_text_set(why, WHY_LEN, "the PEM block has no END line");
            return -1;
        }
        blen = (size_t)(end - body);
        if (!starts_with(end, n - (size_t)(end - s), PEM_END_CERT)) {
            cert_text_set(why, WHY_LEN, "the PEM block does not end with '" PEM_END_CERT "'");
            return -1;
        }
        if (memchr(body, '-', blen) != NULL) {
            cert_text_set(why, WHY_LEN,
                          "a '-' inside the PEM block at byte %zu (an END line missing?)",
                          (size_t)((const char *)memchr(body, '-', blen) - s));
            return -1;
        }
        der = b64_decode(body, blen, 1, &der_len, why);
        if (der == NULL)
            return -1;
        x = der_cert(der, der_len, why);
        free(der);
        if (x == NULL || push_cert(out, x, why) < 0)
            return -1;
        i = (size_t)(end - s) + strlen(PEM_END_CERT);
        while (i < n && is_ws((unsigned char)s[i]))
            i++;
    }
    return 0;
}

/* pem-urlencoded (a plain PEM is the same with nothing escaped): the leaf then any chain. */
static X509 *decode_pem(const char *s, size_t n, STACK_OF(X509) *extra, char *why)
{
    size_t len;
    char *pem = pct_decode(s, n, &len, why);
    X509 *leaf;

    if (pem == NULL)
        return NULL;
    if (pem_certs(pem, len, extra, why) < 0) {
        free(pem);
        return NULL;
    }
    free(pem);
    leaf = sk_X509_shift(extra);
    return leaf;
}

static X509 *decode_base64(const char *s, size_t n, char *why)
{
    size_t len;
    unsigned char *der = b64_decode(s, n, 0, &len, why);
    X509 *x;

    if (der == NULL)
        return NULL;
    x = der_cert(der, len, why);
    free(der);
    return x;
}

/* base64-der: one certificate, or Traefik's list "<b64 leaf>,<b64 issuer>,..." (',' never
 * occurs in base64), the rest going to <extra>. */
static X509 *decode_base64_list(const char *s, size_t n, STACK_OF(X509) *extra, char *why)
{
    const char *comma = memchr(s, ',', n);
    size_t start = 0, k = 1;
    X509 *leaf = NULL;

    if (comma == NULL)
        return decode_base64(s, n, why);
    while (start <= n) {
        const char *next = memchr(s + start, ',', n - start);
        size_t end = next != NULL ? (size_t)(next - s) : n, a = start, b = end;
        char inner[WHY_LEN];
        X509 *x;

        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (k > DECODE_MAX_CERTS) {
            cert_text_set(why, WHY_LEN, "more than %d certificates", DECODE_MAX_CERTS);
            X509_free(leaf);
            return NULL;
        }
        x = decode_base64(s + a, b - a, inner);
        if (x == NULL) {
            cert_text_set(why, WHY_LEN, "certificate %zu of the list (at byte %zu): %s", k, a,
                          inner);
            X509_free(leaf);
            return NULL;
        }
        if (leaf == NULL)
            leaf = x;
        else if (push_cert(extra, x, why) < 0) {
            X509_free(leaf);
            return NULL;
        }
        start = end + 1;
        k++;
    }
    return leaf;
}

static X509 *decode_hex(const char *s, size_t n, char *why)
{
    size_t len;
    unsigned char *der = hex_decode(s, n, &len, why);
    X509 *x;

    if (der == NULL)
        return NULL;
    x = der_cert(der, len, why);
    free(der);
    return x;
}

/* RFC 9440 Client-Cert: one RFC 8941 byte sequence ":<base64>:", nothing around it. */
static X509 *decode_rfc9440(const char *s, size_t n, char *why)
{
    const char *close = n > 1 ? memchr(s + 1, ':', n - 1) : NULL;

    if (n < 2 || s[0] != ':' || close == NULL) {
        cert_text_set(why, WHY_LEN, "the value is not ':<base64 DER>:'");
        return NULL;
    }
    if ((size_t)(close - s) != n - 1) {
        if (memchr(close, ',', n - (size_t)(close - s)) != NULL)
            cert_text_set(why, WHY_LEN,
                          "the value is a list; Client-Cert holds exactly one ':<base64 DER>:'");
        else
            cert_text_set(why, WHY_LEN, "byte %zu follows the closing ':'",
                          (size_t)(close - s) + 1);
        return NULL;
    }
    return decode_base64(s + 1, n - 2, why);
}

/* ---- XFCC ---- */

/* The fields of one XFCC element that decoding uses (values unescaped, malloc'd). */
struct xfcc_elem {
    char *cert, *chain, *hash;
    size_t cert_len, chain_len, hash_len;
};

static void xfcc_elem_clear(struct xfcc_elem *e)
{
    free(e->cert);
    free(e->chain);
    free(e->hash);
    memset(e, 0, sizeof(*e));
}

/* One value at s[*i]: "quoted" (\-escapes) or bare (up to ; or ,). Returns the unescaped,
 * malloc'd text, or NULL with <why>. */
static char *xfcc_value(const char *s, size_t n, size_t *i, size_t *len, char *why)
{
    char *out = malloc(n - *i + 1);
    size_t o = 0, k = *i;
    char b[8];

    if (out == NULL) {
        cert_text_set(why, WHY_LEN, "out of memory");
        return NULL;
    }
    if (k < n && s[k] == '"') {
        for (k++; k < n && s[k] != '"'; k++) {
            if (s[k] == '\\' && ++k == n)
                break;
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7F)
                goto bad;
            out[o++] = s[k];
        }
        if (k == n) {
            cert_text_set(why, WHY_LEN, "unterminated quoted XFCC value");
            free(out);
            return NULL;
        }
        k++;
    } else {
        for (; k < n && s[k] != ';' && s[k] != ','; k++) {
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7F || s[k] == '"')
                goto bad;
            out[o++] = s[k];
        }
    }
    out[o] = '\0';
    *len = o;
    *i = k;
    return out;
bad:
    cert_text_set(why, WHY_LEN, "byte %zu (%s) is not allowed in an XFCC value", k,
                  show((unsigned char)s[k], b));
    free(out);
    return NULL;
}

static int is_key_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Keep the value of <key> if the decoder needs it; a repeated single field is an error. */
static int xfcc_keep(struct xfcc_elem *e, const char *key, size_t klen, char *v, size_t vlen,
                     char *why)
{
    char **slot = NULL;
    size_t *slot_len = NULL;

    if (klen == 4 && strncasecmp(key, "Cert", 4) == 0) {
        slot = &e->cert;
        slot_len = &e->cert_len;
    } else if (klen == 5 && strncasecmp(key, "Chain", 5) == 0) {
        slot = &e->chain;
        slot_len = &e->chain_len;
    } else if (klen == 4 && strncasecmp(key, "Hash", 4) == 0) {
        slot = &e->hash;
        slot_len = &e->hash_len;
    }
    if (slot == NULL) {
        free(v); /* By, Subject, URI, DNS and unknown keys: syntax only */
        return 0;
    }
    if (*slot != NULL) {
        cert_text_set(why, WHY_LEN, "an XFCC element has two %.*s fields", (int)klen, key);
        free(v);
        return -1;
    }
    *slot = v;
    *slot_len = vlen;
    return 0;
}

/* Parse the whole value (every element must be well-formed) and keep the last element's
 * Cert, Chain and Hash in <last>. Returns the number of elements, or -1 with <why>. */
static int xfcc_parse(const char *s, size_t n, struct xfcc_elem *last, char *why)
{
    size_t i = 0;
    int elems = 0;
    char b[8];

    while (i <= n) {
        xfcc_elem_clear(last);
        elems++;
        for (;;) { /* key=value pairs separated by ';' */
            size_t k = i, klen, vlen;
            char *v;

            while (i < n && is_key_char((unsigned char)s[i]))
                i++;
            if (i == k || i == n || s[i] != '=') {
                if (i == k && (i == n || s[i] == ','))
                    cert_text_set(why, WHY_LEN, "empty XFCC element at byte %zu", i);
                else if (i < n && s[i] != '=')
                    cert_text_set(why, WHY_LEN,
                                  "byte %zu (%s) where an XFCC key=value was expected", i,
                                  show((unsigned char)s[i], b));
                else
                    cert_text_set(why, WHY_LEN, "XFCC key without '=' at byte %zu", k);
                return -1;
            }
            klen = i - k;
            i++;
            v = xfcc_value(s, n, &i, &vlen, why);
            if (v == NULL || xfcc_keep(last, s + k, klen, v, vlen, why) < 0)
                return -1;
            if (i < n && s[i] == ';') {
                i++;
                continue;
            }
            break;
        }
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            return elems;
        if (s[i] != ',') {
            cert_text_set(why, WHY_LEN, "byte %zu (%s) follows an XFCC value", i,
                          show((unsigned char)s[i], b));
            return -1;
        }
        for (i++; i < n && (s[i] == ' ' || s[i] == '\t');)
            i++;
    }
    return elems;
}

/* Does <x>'s SHA-256 equal the hex <hash> (any case)? */
static int hash_matches(X509 *x, const char *hash, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, k;

    if (!X509_digest(x, EVP_sha256(), md, &md_len) || len != 2 * (size_t)md_len)
        return 0;
    for (k = 0; k < md_len; k++)
        if (hexval((unsigned char)hash[2 * k]) != md[k] >> 4 ||
            hexval((unsigned char)hash[2 * k + 1]) != (md[k] & 15))
            return 0;
    return 1;
}

static X509 *decode_xfcc(const char *s, size_t n, STACK_OF(X509) *extra, char *why)
{
    struct xfcc_elem e = {0};
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *leaf = NULL, *first;
    char inner[WHY_LEN];
    int elems;

    if (certs == NULL) {
        cert_text_set(why, WHY_LEN, "out of memory");
        return NULL;
    }
    elems = xfcc_parse(s, n, &e, why);
    if (elems < 0)
        goto out;
    if (e.cert == NULL) {
        cert_text_set(why, WHY_LEN, "the last XFCC element (of %d) has no Cert field", elems);
        goto out;
    }
    leaf = decode_pem(e.cert, e.cert_len, certs, inner);
    if (leaf == NULL || sk_X509_num(certs) > 0) {
        if (leaf != NULL)
            cert_text_set(inner, WHY_LEN, "it holds %d certificates", sk_X509_num(certs) + 1);
        cert_text_set(why, WHY_LEN, "Cert field: %s", inner);
        goto fail;
    }
    if (e.hash != NULL && !hash_matches(leaf, e.hash, e.hash_len)) {
        cert_text_set(why, WHY_LEN, "the Hash field is not the SHA-256 of the Cert field");
        goto fail;
    }
    if (e.chain != NULL) {
        first = decode_pem(e.chain, e.chain_len, extra, inner);
        if (first == NULL) {
            cert_text_set(why, WHY_LEN, "Chain field: %s", inner);
            goto fail;
        }
        /* Envoy's Chain starts with the leaf; a chain without it keeps all it holds. */
        if (X509_cmp(first, leaf) == 0)
            X509_free(first);
        else if (!sk_X509_unshift(extra, first)) {
            X509_free(first);
            cert_text_set(why, WHY_LEN, "out of memory");
            goto fail;
        }
    }
    goto out;
fail:
    X509_free(leaf);
    leaf = NULL;
out:
    xfcc_elem_clear(&e);
    sk_X509_pop_free(certs, X509_free);
    return leaf;
}

/* ---- auto-detection and the entry point ---- */

/* Does <s> open with an XFCC key and '=' (By=, Hash=, Cert=...)? A base64 '=' only pads the
 * end, and a certificate is far longer than "Subject=", so this never takes base64. */
static int looks_xfcc(const char *s, size_t n)
{
    size_t k;

    for (k = 0; k < sizeof(xfcc_keys) / sizeof(xfcc_keys[0]); k++) {
        size_t m = strlen(xfcc_keys[k]);
        if (n > m && s[m] == '=' && strncasecmp(s, xfcc_keys[k], m) == 0)
            return 1;
    }
    return 0;
}

static int all_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (hexval((unsigned char)s[i]) < 0)
            return 0;
    return 1;
}

/* The format of <s> (trimmed, non-empty), in the order docs/formats.md gives. */
static enum certgate_format detect(const char *s, size_t n)
{
    if (s[0] == ':')
        return CERTGATE_FMT_RFC9440;
    if (starts_with(s, n, "-----BEGIN") || (n >= 15 && strncasecmp(s, "%2D%2D%2D%2D%2D", 15) == 0))
        return CERTGATE_FMT_PEM_URLENCODED;
    if (looks_xfcc(s, n))
        return CERTGATE_FMT_XFCC;
    if (all_hex(s, n))
        return CERTGATE_FMT_HEX;
    return CERTGATE_FMT_BASE64_DER;
}

static X509 *decode_as(enum certgate_format fmt, const char *s, size_t n, STACK_OF(X509) *extra,
                       char *why)
{
    switch (fmt) {
    case CERTGATE_FMT_BASE64_DER:
        return decode_base64_list(s, n, extra, why);
    case CERTGATE_FMT_PEM_URLENCODED:
        return decode_pem(s, n, extra, why);
    case CERTGATE_FMT_HEX:
        return decode_hex(s, n, why);
    case CERTGATE_FMT_RFC9440:
        return decode_rfc9440(s, n, why);
    case CERTGATE_FMT_XFCC:
        return decode_xfcc(s, n, extra, why);
    case CERTGATE_FMT_AUTO:
        break;
    }
    cert_text_set(why, WHY_LEN, "unknown format %d", (int)fmt);
    return NULL;
}

X509 *certgate_decode(const char *value, size_t len, enum certgate_format fmt,
                      STACK_OF(X509) **chain_out, enum certgate_format *fmt_used, char *err,
                      size_t errlen)
{
    STACK_OF(X509) *extra = NULL;
    char why[WHY_LEN] = "";
    X509 *leaf = NULL;
    int detected = fmt == CERTGATE_FMT_AUTO;

    if (chain_out != NULL)
        *chain_out = NULL;
    if ((unsigned)fmt > CERTGATE_FMT_AUTO) {
        cert_text_set(err, errlen, "unknown format %d", (int)fmt);
        return NULL;
    }
    while (len > 0 && value != NULL && is_ws((unsigned char)value[0])) {
        value++;
        len--;
    }
    while (len > 0 && is_ws((unsigned char)value[len - 1]))
        len--;
    if (value == NULL || len == 0) {
        cert_text_set(err, errlen, "the value is empty");
        return NULL;
    }
    if (detected)
        fmt = detect(value, len);
    if (fmt_used != NULL)
        *fmt_used = fmt;
    extra = sk_X509_new_null();
    if (extra == NULL) {
        cert_text_set(err, errlen, "out of memory");
        return NULL;
    }
    leaf = decode_as(fmt, value, len, extra, why);
    /* Hex goes first only when it is a whole certificate; any other all-hex value is read as
     * base64 (which cannot be a certificate either: base64 DER starts with 'M'). */
    if (leaf == NULL && detected && fmt == CERTGATE_FMT_HEX) {
        char why_b64[WHY_LEN];
        leaf = decode_base64(value, len, why_b64);
        if (leaf != NULL && fmt_used != NULL)
            *fmt_used = CERTGATE_FMT_BASE64_DER;
    }
    if (leaf == NULL) {
        cert_text_set(err, errlen, "%s: %s", certgate_format_name(fmt), why);
        sk_X509_pop_free(extra, X509_free);
        return NULL;
    }
    if (chain_out != NULL && sk_X509_num(extra) > 0)
        *chain_out = extra;
    else
        sk_X509_pop_free(extra, X509_free);
    return leaf;
}
