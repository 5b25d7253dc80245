/* `certgate decode`: what a gateway forwarded, as PEM and a summary, so that an operator can
 * see which certificate a header carries and why a value is refused (docs/formats.md). */
#include "cli/decode.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgate/certgate.h"

#define EXIT_DECODED   0
#define EXIT_NOT_CERT  1
#define EXIT_USAGE     2
#define MAX_STDIN      (1u << 20) /* far above any header a gateway accepts */
#define FORMAT_CHOICES "auto, base64-der, pem-urlencoded, hex, rfc9440, xfcc"

static const char usage_line[] =
    "usage: certgate decode [--format auto|base64-der|pem-urlencoded|hex|rfc9440|xfcc] VALUE|-\n";

static const char usage_full[] =
    "usage: certgate decode [--format FORMAT] VALUE|-\n"
    "\n"
    "Decode a forwarded client-certificate header value and print the certificate as PEM\n"
    "(and any chain the value carried), then a summary. VALUE '-' reads standard input.\n"
    "\n"
    "  --format FORMAT  the encoding of VALUE: auto (default: told apart by its shape),\n"
    "                   base64-der, pem-urlencoded, hex, rfc9440, xfcc (docs/formats.md)\n"
    "  --               what follows is VALUE, even when it starts with --\n"
    "  -h, --help       print this help\n"
    "\n"
    "Exit status: 0 decoded, 1 not a certificate, 2 usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("certgate decode: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_line, stderr);
    return EXIT_USAGE;
}

/* <s> on a terminal line: control bytes as \xHH (certificate fields are attacker-controlled). */
static void text_str(FILE *f, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7F)
            fprintf(f, "\\x%02X", s[i]);
        else
            fputc(s[i], f);
}

static void line(const char *label, const char *value)
{
    printf("%-12s", label);
    text_str(stdout, (const unsigned char *)value, strlen(value));
    putchar('\n');
}

/* Standard input whole, up to MAX_STDIN bytes. Returns 0, -1 on a read error, -2 when larger. */
static int read_stdin(char **out, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap), *more;

    if (buf == NULL)
        return -1;
    /* One byte past the limit tells "too large" from "exactly the limit". */
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n > MAX_STDIN) {
            free(buf);
            return -2;
        }
        if (n == cap) {
            cap = cap * 2 > MAX_STDIN + 1 ? MAX_STDIN + 1 : cap * 2;
            more = realloc(buf, cap);
            if (more == NULL) {
                free(buf);
                return -1;
            }
            buf = more;
        }
    }
    if (ferror(stdin)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static void print_sans(X509 *x)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int shown = 0;

    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        const ASN1_STRING *s;
        const char *label;
        char ip[INET6_ADDRSTRLEN];

        switch (gn->type) {
        case GEN_DNS:
            label = "san dns";
            s = gn->d.dNSName;
            break;
        case GEN_URI:
            label = "san uri";
            s = gn->d.uniformResourceIdentifier;
            break;
        case GEN_EMAIL:
            label = "san email";
            s = gn->d.rfc822Name;
            break;
        case GEN_IPADD:
            label = "san ip";
            s = gn->d.iPAddress;
            break;
        default:
            continue;
        }
        printf("%-12s", label);
        if (gn->type == GEN_IPADD && ASN1_STRING_length(s) == 4 &&
            inet_ntop(AF_INET, ASN1_STRING_get0_data(s), ip, sizeof(ip)) != NULL)
            fputs(ip, stdout);
        else if (gn->type == GEN_IPADD && ASN1_STRING_length(s) == 16 &&
                 inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof(ip)) != NULL)
            fputs(ip, stdout);
        else if (gn->type == GEN_IPADD)
            for (int k = 0; k < ASN1_STRING_length(s); k++)
                printf("%02X", ASN1_STRING_get0_data(s)[k]);
        else
            text_str(stdout, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        putchar('\n');
        shown++;
    }
    if (shown == 0)
        line("san", "none");
    GENERAL_NAMES_free(sans);
}

static int summary(X509 *leaf, STACK_OF(X509) *chain, const char *format)
{
    struct certgate_identity id;

    if (certgate_identity_from_x509(leaf, &id) != 0) {
        fputs("certgate decode: the certificate's fields cannot be read\n", stderr);
        return EXIT_NOT_CERT;
    }
    if (!PEM_write_X509(stdout, leaf)) {
        certgate_identity_free(&id);
        fputs("certgate decode: cannot write the PEM\n", stderr);
        return EXIT_NOT_CERT;
    }
    for (int i = 0; i < sk_X509_num(chain); i++)
        PEM_write_X509(stdout, sk_X509_value(chain, i));
    line("format", format);
    line("subject", id.subject);
    line("issuer", id.issuer);
    line("serial", id.serial);
    line("not before", id.not_before);
    line("not after", id.not_after);
    line("sha1", id.sha1);
    line("sha256", id.sha256);
    print_sans(leaf);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        struct certgate_identity cid;
        if (certgate_identity_from_x509(sk_X509_value(chain, i), &cid) == 0)
            line("chain", cid.subject);
        certgate_identity_free(&cid);
    }
    certgate_identity_free(&id);
    return EXIT_DECODED;
}

int cli_decode(int argc, char **argv)
{
    enum certgate_format fmt = CERTGATE_FMT_AUTO, used = CERTGATE_FMT_AUTO;
    const char *value = NULL, *fmt_name = NULL;
    STACK_OF(X509) *chain = NULL;
    char *input = NULL, err[320], format[64];
    size_t len = 0;
    int only_values = 0, rc;
    X509 *leaf;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        /* A PEM value starts with "-----": only "--" plus a letter (or -h) is a flag. */
        int is_flag =
            !only_values &&
            ((a[0] == '-' && a[1] == '-' && ((a[2] >= 'a' && a[2] <= 'z') || a[2] == '\0')) ||
             strcmp(a, "-h") == 0);
        if (!is_flag) {
            if (value != NULL)
                return usage_error("one VALUE only (got a second: '%.40s')", a);
            value = a;
        } else if (strcmp(a, "--") == 0) {
            only_values = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_full, stdout);
            return EXIT_DECODED;
        } else if (strcmp(a, "--format") == 0) {
            if (i + 1 == argc)
                return usage_error("%s needs a value (" FORMAT_CHOICES ")", a);
            fmt_name = argv[++i];
        } else if (strncmp(a, "--format=", 9) == 0) {
            fmt_name = a + 9;
        } else {
            return usage_error("unknown option '%.40s'", a);
        }
    }
    if (fmt_name != NULL && certgate_format_parse(fmt_name, &fmt) != 0)
        return usage_error("unknown format '%.40s' (" FORMAT_CHOICES ")", fmt_name);
    if (value == NULL)
        return usage_error("%s", "no VALUE given (use - to read standard input)");
    if (strcmp(value, "-") == 0) {
        int r = read_stdin(&input, &len);
        if (r == -2) {
            fprintf(stderr, "certgate decode: standard input holds more than %u bytes\n",
                    MAX_STDIN);
            return EXIT_NOT_CERT;
        }
        if (r < 0) {
            fputs("certgate decode: cannot read standard input\n", stderr);
            return EXIT_USAGE;
        }
        value = input;
    } else {
        len = strlen(value);
    }

    leaf = certgate_decode(value, len, fmt, &chain, &used, err, sizeof(err));
    if (leaf == NULL) {
        fputs("certgate decode: ", stderr);
        text_str(stderr, (const unsigned char *)err, strlen(err));
        fputc('\n', stderr);
        free(input);
        return EXIT_NOT_CERT;
    }
    /* A raw PEM is read as pem-urlencoded with nothing escaped; say which one it was. */
    snprintf(format, sizeof(format), "%s%s", certgate_format_name(used),
             used == CERTGATE_FMT_PEM_URLENCODED && memchr(value, '%', len) == NULL ? " (plain PEM)"
                                                                                    : "");
    rc = summary(leaf, chain, format);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    free(input);
    return rc;
}
