/* RFC 4514 distinguished names -> X509_NAME, for allowed_issuers (SPEC §7).
 * Accepts what `openssl x509 -noout -subject -nameopt RFC2253` prints: most specific RDN
 * first, '+' inside a multi-valued RDN, backslash escapes and \XX UTF-8 pairs, #hex DER
 * values; also RFC 2253's quoted values and spaces around separators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "certgate/policy.h"
#include "cert_internal.h"

#define DN_MAX_AVAS 64

struct ava {
    ASN1_OBJECT *obj;
    unsigned char *value; /* decoded bytes; for a #hex value, the DER of a string */
    size_t len;
    int ber;      /* value is #hex DER */
    int plus;     /* a '+' follows: the next AVA is in the same RDN */
    size_t where; /* offset of the type, for messages */
};

/* Types of the header's list, case-insensitive. */
static const struct {
    const char *name;
    int nid;
} dn_types[] = {
    {"CN", NID_commonName},
    {"C", NID_countryName},
    {"L", NID_localityName},
    {"ST", NID_stateOrProvinceName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"STREET", NID_streetAddress},
    {"DC", NID_domainComponent},
    {"UID", NID_userId},
    {"emailAddress", NID_pkcs9_emailAddress},
    {"serialNumber", NID_serialNumber},
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_oid(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || s[0] < '0' || s[0] > '9' || s[len - 1] == '.')
        return 0;
    for (i = 0; i < len; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] == '.' && s[i + 1] != '.'))
            return 0;
    return 1;
}

/* The object of attribute type <s> (<len> bytes), or NULL. */
static ASN1_OBJECT *type_object(const char *s, size_t len)
{
    char buf[80];
    size_t i;
    int nid;

    if (len == 0 || len >= sizeof(buf))
        return NULL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (i = 0; i < sizeof(dn_types) / sizeof(dn_types[0]); i++)
        if (strcasecmp(buf, dn_types[i].name) == 0)
            return OBJ_nid2obj(dn_types[i].nid);
    if (is_oid(buf, len))
        return OBJ_txt2obj(buf, 1);
    /* Other names OpenSSL prints (title, GN, SN, ...), spelt as OpenSSL spells them. */
    nid = OBJ_sn2nid(buf);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(buf);
    return nid != NID_undef ? OBJ_nid2obj(nid) : NULL;
}

static int valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n, k;
        unsigned long cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += n + 1;
    }
    return 1;
}

struct parser {
    const char *s;
    size_t i;
    char *err;
    size_t errlen;
};

static void skip_spaces(struct parser *p)
{
    while (p->s[p->i] == ' ')
        p->i++;
}

/* One value after '=', up to an unescaped ',' or '+' or the end, into <a>. Returns 0 or -1. */
static int parse_value(struct parser *p, struct ava *a)
{
    const char *s = p->s;
    size_t start = p->i, keep = 0, n = 0, cap = strlen(s + p->i) + 1;
    int quoted = 0;

    a->value = malloc(cap);
    if (a->value == NULL) {
        cert_text_set(p->err, p->errlen, "out of memory");
        return -1;
    }
    if (s[p->i] == '#') {
        /* #hex: the DER of the value (RFC 4514 2.4), as OpenSSL prints unknown types. */
        p->i++;
        while (hexval(s[p->i]) >= 0 && hexval(s[p->i + 1]) >= 0) {
            a->value[n++] = (unsigned char)(hexval(s[p->i]) << 4 | hexval(s[p->i + 1]));
            p->i += 2;
        }
        skip_spaces(p);
        if (n == 0 || (s[p->i] != '\0' && s[p->i] != ',' && s[p->i] != '+')) {
            cert_text_set(p->err, p->errlen,
                          "value at offset %zu starts with '#' but is not an even number of hex "
                          "digits (write '\\#' for a literal '#')",
                          start);
            return -1;
        }
        a->len = n;
        a->ber = 1;
        return 0;
    }
    if (s[p->i] == '"') {
        quoted = 1;
        p->i++;
    }
    for (;;) {
        char c = s[p->i];

        if (c == '\0') {
            if (quoted) {
                cert_text_set(p->err, p->errlen, "quoted value at offset %zu has no closing '\"'",
                              start);
                return -1;
            }
            break;
        }
        if (quoted && c == '"') {
            p->i++;
            skip_spaces(p);
            if (s[p->i] != '\0' && s[p->i] != ',' && s[p->i] != '+') {
                cert_text_set(p->err, p->errlen,
                              "unexpected '%c' at offset %zu after a quoted value", s[p->i], p->i);
                return -1;
            }
            keep = n;
            break;
        }
        if (!quoted && (c == ',' || c == '+'))
            break;
        if (c == '\\') {
            char e = s[p->i + 1];

            if (hexval(e) >= 0 && hexval(s[p->i + 2]) >= 0) {
                a->value[n++] = (unsigned char)(hexval(e) << 4 | hexval(s[p->i + 2]));
                p->i += 3;
            } else if (e != '\0' && strchr(" \"#+,;<=>\\", e) != NULL) {
                a->value[n++] = (unsigned char)e;
                p->i += 2;
            } else {
                cert_text_set(p->err, p->errlen,
                              "bad escape at offset %zu: '\\' must be followed by one of "
                              ",+\"\\<>;=# or space, or two hex digits",
                              p->i);
                return -1;
            }
            keep = n;
            continue;
        }
        if (!quoted && (c == '"' || c == ';' || c == '<' || c == '>')) {
            cert_text_set(p->err, p->errlen, "unescaped '%c' at offset %zu (write '\\%c'%s)", c,
                          p->i, c, c == ';' ? "; RDNs are separated by ','" : "");
            return -1;
        }
        a->value[n++] = (unsigned char)c;
        p->i++;
        if (c != ' ' || quoted)
            keep = n;
    }
    /* Unescaped trailing spaces are not part of the value (RFC 4514 2.4 escapes kept ones). */
    a->len = quoted ? n : keep;
    if (!valid_utf8(a->value, a->len)) {
        cert_text_set(p->err, p->errlen, "value at offset %zu is not valid UTF-8", start);
        return -1;
    }
    return 0;
}

/* TYPE=value at p->i into <a>. Returns 0 or -1 with p->err set. */
static int parse_ava(struct parser *p, struct ava *a)
{
    const char *s = p->s;
    size_t tstart, tend;

    skip_spaces(p);
    tstart = p->i;
    while (s[p->i] != '\0' && s[p->i] != '=' && s[p->i] != ',' && s[p->i] != '+')
        p->i++;
    tend = p->i;
    while (tend > tstart && s[tend - 1] == ' ')
        tend--;
    a->where = tstart;
    if (s[p->i] != '=') {
        if (tend == tstart)
            cert_text_set(p->err, p->errlen, "empty RDN at offset %zu", tstart);
        else
            cert_text_set(p->err, p->errlen, "'%.*s' at offset %zu is not TYPE=value",
                          (int)(p->i - tstart), s + tstart, tstart);
        return -1;
    }
    if (tend == tstart) {
        cert_text_set(p->err, p->errlen, "missing attribute type before '=' at offset %zu", p->i);
        return -1;
    }
    a->obj = type_object(s + tstart, tend - tstart);
    if (a->obj == NULL) {
        cert_text_set(p->err, p->errlen,
                      "unknown attribute type '%.*s' at offset %zu (use CN, C, L, ST, O, OU, "
                      "STREET, DC, UID, emailAddress, serialNumber or a dotted OID)",
                      (int)(tend - tstart), s + tstart, tstart);
        return -1;
    }
    p->i++;
    skip_spaces(p);
    return parse_value(p, a);
}

static const int string_tags[] = {
    V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING,     V_ASN1_T61STRING,
    V_ASN1_BMPSTRING,  V_ASN1_UNIVERSALSTRING, V_ASN1_VISIBLESTRING, V_ASN1_NUMERICSTRING,
};

/* Append <a> to <name>, <set> as X509_NAME_add_entry takes it. Returns 0 or -1. */
static int add_ava(X509_NAME *name, const struct ava *a, int set, char *err, size_t errlen)
{
    char type[80];
    int ok = 0;
    size_t i;

    if (OBJ_obj2nid(a->obj) != NID_undef)
        snprintf(type, sizeof(type), "%s", OBJ_nid2sn(OBJ_obj2nid(a->obj)));
    else
        OBJ_obj2txt(type, sizeof(type), a->obj, 1);
    ERR_set_mark();
    if (a->ber) {
        const unsigned char *q = a->value;
        ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &q, (long)a->len);
        int string = 0;

        for (i = 0; t != NULL && i < sizeof(string_tags) / sizeof(string_tags[0]); i++)
            string |= t->type == string_tags[i];
        if (t == NULL || q != a->value + a->len || !string) {
            cert_text_set(err, errlen, "'#' value of %s at offset %zu is not the DER of a string",
                          type, a->where);
        } else {
            ok = X509_NAME_add_entry_by_OBJ(name, a->obj, t->type,
                                            ASN1_STRING_get0_data(t->value.asn1_string),
                                            ASN1_STRING_length(t->value.asn1_string), -1, set);
            if (!ok)
                cert_text_set(err, errlen, "'#' value of %s at offset %zu cannot be used", type,
                              a->where);
        }
        ASN1_TYPE_free(t);
    } else {
        /* UTF8String whatever the type: MBSTRING_UTF8 would apply X.520 size limits (CN <= 64)
         * that real certificates exceed, and X509_NAME_cmp compares text, not string types. */
        ok = X509_NAME_add_entry_by_OBJ(name, a->obj, V_ASN1_UTF8STRING, a->value, (int)a->len, -1,
                                        set);
        if (!ok)
            cert_text_set(err, errlen, "value of %s at offset %zu cannot be stored (out of memory)",
                          type, a->where);
    }
    ERR_pop_to_mark();
    return ok ? 0 : -1;
}

X509_NAME *certgate_dn_parse(const char *rfc4514, char *err, size_t errlen)
{
    struct ava avas[DN_MAX_AVAS];
    struct parser p = {rfc4514, 0, err, errlen};
    X509_NAME *name = NULL;
    size_t n = 0, k;
    int ok = 0;

    cert_text_set(err, errlen, "%s", "");
    memset(avas, 0, sizeof(avas));
    if (rfc4514 == NULL || rfc4514[strspn(rfc4514, " ")] == '\0') {
        cert_text_set(err, errlen, "the DN is empty");
        return NULL;
    }
    for (;;) {
        if (n == DN_MAX_AVAS) {
            cert_text_set(err, errlen, "more than %d attributes", DN_MAX_AVAS);
            goto out;
        }
        if (parse_ava(&p, &avas[n]) != 0) {
            n++;
            goto out;
        }
        n++;
        if (rfc4514[p.i] == '\0')
            break;
        avas[n - 1].plus = rfc4514[p.i] == '+';
        p.i++;
        if (rfc4514[p.i + strspn(rfc4514 + p.i, " ")] == '\0') {
            cert_text_set(err, errlen, "nothing after '%c' at offset %zu", rfc4514[p.i - 1],
                          p.i - 1);
            goto out;
        }
    }
    name = X509_NAME_new();
    if (name == NULL) {
        cert_text_set(err, errlen, "out of memory");
        goto out;
    }
    /* The string is most specific first; an X509_NAME most significant first. Going
     * backwards, an AVA followed by '+' joins the RDN added just before it. */
    for (k = n; k-- > 0;)
        if (add_ava(name, &avas[k], avas[k].plus ? -1 : 0, err, errlen) != 0)
            goto out;
    /* Compute the canonical encoding now: X509_NAME_cmp would otherwise write it lazily,
     * racing when threads share the name. */
    ok = i2d_X509_NAME(name, NULL) > 0;
    if (!ok)
        cert_text_set(err, errlen, "the DN cannot be encoded");
out:
    for (k = 0; k < n; k++) {
        ASN1_OBJECT_free(avas[k].obj);
        free(avas[k].value);
    }
    if (!ok) {
        X509_NAME_free(name);
        return NULL;
    }
    return name;
}
