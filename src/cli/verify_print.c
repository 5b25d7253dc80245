/* `certgate verify`'s output (verify_print.h). */
#include "cli/verify_print.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at <s> (of <n> bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xBF;

    if (len == 0 || len > n)
        return 0;
    /* no overlong forms, no surrogates, nothing past U+10FFFF */
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* <s> as a JSON string: control bytes and bytes that are not UTF-8 escaped. */
static void json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);

    fputc('"', f);
    for (size_t i = 0; i < n;) {
        size_t u = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;

        if (u) {
            fwrite(p + i, 1, u, f);
            i += u;
            continue;
        }
        if (p[i] == '"' || p[i] == '\\')
            fprintf(f, "\\%c", p[i]);
        else if (p[i] == '\n')
            fputs("\\n", f);
        else if (p[i] < 0x20 || p[i] >= 0x7F)
            fprintf(f, "\\u%04x", p[i]);
        else
            fputc(p[i], f);
        i++;
    }
    fputc('"', f);
}

/* <s> on a terminal line: control bytes as \xHH. */
static void text_str(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            fprintf(f, "\\x%02X", *p);
        else
            fputc(*p, f);
}

/* Why a check did not run, where the engine leaves the sentence empty. */
static const char *skip_reason(enum certgate_check c, const struct certgate_policy_spec *sp)
{
    switch (c) {
    case CERTGATE_CHECK_ISSUER:
        if (!sp->n_allowed_issuer_dns && !sp->n_allowed_issuer_files)
            return "no allowed issuers";
        break;
    case CERTGATE_CHECK_DEPTH:
        if (sp->max_depth == 0)
            return "no maximum depth";
        break;
    case CERTGATE_CHECK_EKU:
        if (sp->eku == CERTGATE_EKU_NONE)
            return "extended key usage not required";
        break;
    case CERTGATE_CHECK_REVOCATION:
        if (!sp->n_crl_files)
            return "no CRL given";
        break;
    case CERTGATE_CHECK_IDENTITY: {
        size_t n = 0;
        for (int k = 0; k < CERTGATE_ALLOW_COUNT; k++)
            n += sp->n_allow[k];
        if (!n)
            return "no allowlist";
        break;
    }
    default:
        break;
    }
    return "not checked";
}

void verify_explain_skips(struct certgate_report *rep, const struct certgate_policy_spec *sp)
{
    for (int c = 0; c < CERTGATE_CHECK_COUNT; c++)
        if (!rep->detail[c][0] && rep->outcome[c] == CERTGATE_SKIPPED)
            snprintf(rep->detail[c], sizeof(rep->detail[c]), "%s",
                     skip_reason((enum certgate_check)c, sp));
}

/* The sentence of check <c>: the report's, or <rev_line> (non-NULL with --ocsp or --crl-fetch)
 * for revocation. */
static const char *line_of(const struct certgate_report *rep, int c, const char *rev_line)
{
    return c == CERTGATE_CHECK_REVOCATION && rev_line != NULL ? rev_line : rep->detail[c];
}

void verify_print_text(const char *file, const struct certgate_identity *id, int n_presented,
                       const struct certgate_report *rep, const char *rev_line,
                       const struct verify_verdict *v)
{
    static const char *const outcome[] = {"SKIP", "PASS", "FAIL"};
    const char *fields[][2] = {{"subject", id->subject},    {"issuer", id->issuer},
                               {"serial", id->serial},      {"sha1", id->sha1},
                               {"sha256", id->sha256},      {"not before", id->not_before},
                               {"not after", id->not_after}};

    printf("%-12s", "certificate");
    text_str(stdout, strcmp(file, "-") == 0 ? "(standard input)" : file);
    if (n_presented)
        printf(" (and %d more certificate%s)", n_presented, n_presented == 1 ? "" : "s");
    putchar('\n');
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        printf("%-12s", fields[i][0]);
        text_str(stdout, fields[i][1]);
        putchar('\n');
    }
    putchar('\n');
    for (int c = 0; c < CERTGATE_CHECK_COUNT; c++) {
        printf("%-12s%s", certgate_check_name((enum certgate_check)c), outcome[rep->outcome[c]]);
        if (line_of(rep, c, rev_line)[0]) {
            fputs("  ", stdout);
            text_str(stdout, line_of(rep, c, rev_line));
        }
        putchar('\n');
    }
    if (v->reason == CERTGATE_OK) {
        printf("%-12sACCEPTED\n", "verdict");
        return;
    }
    printf("%-12sREJECTED %s %d: ", "verdict", certgate_reason_code(v->reason), v->status);
    text_str(stdout, v->detail);
    putchar('\n');
}

void verify_print_json(const struct certgate_identity *id, const struct certgate_report *rep,
                       const char *rev_line, const struct verify_ocsp *q,
                       const struct verify_verdict *v)
{
    static const char *const outcome[] = {"skipped", "pass", "fail"};
    const char *fields[][2] = {{"subject", id->subject},    {"issuer", id->issuer},
                               {"serial", id->serial},      {"sha1", id->sha1},
                               {"sha256", id->sha256},      {"not_before", id->not_before},
                               {"not_after", id->not_after}};

    printf("{\"verdict\":\"%s\",\"reason\":", v->reason == CERTGATE_OK ? "accepted" : "rejected");
    if (v->reason == CERTGATE_OK)
        fputs("null", stdout);
    else
        json_str(stdout, certgate_reason_code(v->reason));
    printf(",\"status\":%d,\"detail\":", v->status);
    json_str(stdout, v->detail);
    fputs(",\"certificate\":{", stdout);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        printf("%s\"%s\":", i ? "," : "", fields[i][0]);
        json_str(stdout, fields[i][1]);
    }
    putchar('}');
    if (q != NULL)
        verify_ocsp_json(stdout, q, json_str);
    fputs(",\"checks\":[", stdout);
    for (int c = 0; c < CERTGATE_CHECK_COUNT; c++) {
        printf("%s{\"check\":\"%s\",\"outcome\":\"%s\",\"detail\":", c ? "," : "",
               certgate_check_name((enum certgate_check)c), outcome[rep->outcome[c]]);
        json_str(stdout, line_of(rep, c, rev_line));
        putchar('}');
    }
    fputs("]}\n", stdout);
}
