/* The identity a backend sees: DNs, serial, fingerprints, validity, CN (SPEC §5).
 * Certificate fields are attacker-controlled: nothing returned carries a control byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"
#include "cert_internal.h"

static const char hex_upper[] = "0123456789ABCDEF";

static int is_ctrl(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

char *cert_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *out = malloc(len);

    if (out != NULL)
        memcpy(out, s, len);
    return out;
}

char *cert_escape_ctrl(const unsigned char *s, size_t len)
{
    size_t extra = 0, i, o = 0;
    char *out;

    for (i = 0; i < len; i++)
        extra += is_ctrl(s[i]) ? 2 : 0;
    out = malloc(len + extra + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (is_ctrl(s[i])) {
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

char *cert_dn_format(const X509_NAME *name)
{
    /* RFC 2253 with ESC_CTRL, but UTF-8 left as UTF-8 rather than \C3\A9. */
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long len;

    if (bio == NULL)
        return NULL;
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
        len = BIO_get_mem_data(bio, &data);
        /* ESC_CTRL already escapes C0 and DEL; this keeps the promise whatever OpenSSL does. */
        if (len >= 0)
            out = cert_escape_ctrl((const unsigned char *)data, (size_t)len);
    }
    BIO_free(bio);
    return out;
}

int cert_time_format(const ASN1_TIME *t, char out[CERT_TIME_LEN])
{
    struct tm tm;
    char buf[64];
    int year;

    out[0] = '\0';
    /* ASN1_TIME_to_tm validates the syntax and folds any offset into UTC. */
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    year = tm.tm_year + 1900;
    if (year < 0 || year > 9999)
        return -1;
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (strlen(buf) != CERT_TIME_LEN - 1)
        return -1;
    memcpy(out, buf, CERT_TIME_LEN);
    return 0;
}

int cert_time_unix(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    time_t v;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    v = timegm(&tm);
    if (v == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
        return -1;
    *out = v;
    return 0;
}

void cert_unix_format(time_t t, char out[CERT_TIME_LEN])
{
    struct tm tm;
    char buf[64];

    /* Through a large buffer: the compiler cannot bound struct tm's ints. */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        snprintf(buf, sizeof(buf), "%s", "an unreadable date");
    else
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    buf[CERT_TIME_LEN - 1] = '\0';
    memcpy(out, buf, CERT_TIME_LEN);
}

static char *time_dup(const ASN1_TIME *t)
{
    char buf[CERT_TIME_LEN];

    if (cert_time_format(t, buf) != 0)
        return NULL;
    return cert_strdup(buf);
}

/* Hex of the serial's magnitude, as `openssl x509 -serial` and nginx print it:
 * two digits per byte, "00" for zero, a leading '-' for a (non-conforming) negative serial. */
static char *serial_hex(const ASN1_INTEGER *serial)
{
    const unsigned char *p = ASN1_STRING_get0_data(serial);
    int len = ASN1_STRING_length(serial);
    int neg = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    char *out, *o;
    int i;

    while (len > 1 && p[0] == 0) {
        p++;
        len--;
    }
    if (len <= 0)
        return cert_strdup("00");
    out = malloc((size_t)len * 2 + 2);
    if (out == NULL)
        return NULL;
    o = out;
    if (neg)
        *o++ = '-';
    for (i = 0; i < len; i++) {
        *o++ = hex_upper[p[i] >> 4];
        *o++ = hex_upper[p[i] & 15];
    }
    *o = '\0';
    return out;
}

static char *digest_hex(const X509 *x, const EVP_MD *md)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *out;

    if (!X509_digest(x, md, buf, &len))
        return NULL;
    out = malloc((size_t)len * 2 + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        out[2 * i] = hex_upper[buf[i] >> 4];
        out[2 * i + 1] = hex_upper[buf[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

/* First CN of <name> as UTF-8, control bytes as \HH; "" when there is none. */
static char *first_cn(const X509_NAME *name)
{
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    const ASN1_STRING *data;
    unsigned char *utf8 = NULL;
    char *out;
    int len;

    if (idx < 0)
        return cert_strdup("");
    data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
        /* Not convertible (e.g. a broken BMPString): show the bytes, still escaped. */
        return cert_escape_ctrl(ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data));
    }
    out = cert_escape_ctrl(utf8, (size_t)len);
    OPENSSL_free(utf8);
    return out;
}

int certgate_identity_from_x509(X509 *x, struct certgate_identity *id)
{
    if (id == NULL)
        return -1;
    memset(id, 0, sizeof(*id));
    if (x == NULL)
        return -1;
    id->subject = cert_dn_format(X509_get_subject_name(x));
    id->issuer = cert_dn_format(X509_get_issuer_name(x));
    id->serial = serial_hex(X509_get0_serialNumber(x));
    id->sha1 = digest_hex(x, EVP_sha1());
    id->sha256 = digest_hex(x, EVP_sha256());
    id->not_before = time_dup(X509_get0_notBefore(x));
    id->not_after = time_dup(X509_get0_notAfter(x));
    id->cn = first_cn(X509_get_subject_name(x));
    if (id->subject == NULL || id->issuer == NULL || id->serial == NULL || id->sha1 == NULL ||
        id->sha256 == NULL || id->not_before == NULL || id->not_after == NULL || id->cn == NULL) {
        certgate_identity_free(id);
        return -1;
    }
    return 0;
}

void certgate_identity_free(struct certgate_identity *id)
{
    if (id == NULL)
        return;
    free(id->subject);
    free(id->issuer);
    free(id->serial);
    free(id->sha1);
    free(id->sha256);
    free(id->not_before);
    free(id->not_after);
    free(id->cn);
    memset(id, 0, sizeof(*id));
}
