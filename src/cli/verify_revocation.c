/* `certgate verify`: one fold for every live source of revocation status, so that a fetched
 * CRL and an OCSP answer read and decide alike. */
#include "cli/verify_revocation.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

#define TIMEOUT_MAX_MS 600000 /* 10 minutes at most */

void verify_copy_cut(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memmove(dst, src, n);
    dst[n] = '\0';
}

int verify_timeout_parse(const char *flag, const char *text, int *ms, char *err, size_t errlen)
{
    uint64_t v;

    if (config_parse_duration(text, &v) != 0 || v < 1 || v > TIMEOUT_MAX_MS) {
        snprintf(err, errlen,
                 "%s: expected a duration from 1ms to 10m, such as 500ms or 5s, got '%s'", flag,
                 text);
        return -1;
    }
    *ms = (int)v;
    return 0;
}

void verify_revocation_unknown(char *out, size_t len, const char *subject, const char *why)
{
    char buf[2048];

    snprintf(buf, sizeof(buf), "revocation status of '%s' is unknown: %s", subject, why);
    verify_copy_cut(out, len, buf);
}

int verify_revocation_fold(enum certgate_reason r, const char *detail, struct certgate_judgement *j,
                           enum certgate_outcome *outcome, char *line, size_t line_len)
{
    int before = *outcome != CERTGATE_SKIPPED, good = r == CERTGATE_OK, decided = 0;
    char buf[2048];

    if ((r == CERTGATE_REVOKED && j->revocation != CERTGATE_REVOKED) ||
        (!good && j->revocation == CERTGATE_OK)) {
        j->revocation = r;
        verify_copy_cut(j->revocation_detail, sizeof(j->revocation_detail), detail);
        decided = 1;
    }
    if (before)
        snprintf(buf, sizeof(buf), "%s; %s", line, detail);
    else
        snprintf(buf, sizeof(buf), "%s", detail);
    verify_copy_cut(line, line_len, buf);
    *outcome = (before && *outcome == CERTGATE_FAIL) || !good ? CERTGATE_FAIL : CERTGATE_PASS;
    return decided;
}
