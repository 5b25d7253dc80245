/* Forwarding format names as written in config and on the command line (SPEC §5, §6). */
#include <stddef.h>
#include <string.h>

#include "certgate/certgate.h"

static const struct {
    enum certgate_format fmt;
    const char *name;
} format_names[] = {
    {CERTGATE_FMT_BASE64_DER, "base64-der"},
    {CERTGATE_FMT_PEM_URLENCODED, "pem-urlencoded"},
    {CERTGATE_FMT_HEX, "hex"},
    {CERTGATE_FMT_RFC9440, "rfc9440"},
    {CERTGATE_FMT_XFCC, "xfcc"},
    {CERTGATE_FMT_AUTO, "auto"},
};

#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

int certgate_format_parse(const char *name, enum certgate_format *out)
{
    size_t i;

    if (name == NULL)
        return -1;
    /* Exact spelling: these are public interface names (SPEC §5), not guesses. */
    for (i = 0; i < N_FORMATS; i++) {
        if (strcmp(name, format_names[i].name) == 0) {
            if (out != NULL)
                *out = format_names[i].fmt;
            return 0;
        }
    }
    return -1;
}

const char *certgate_format_name(enum certgate_format fmt)
{
    size_t i;

    for (i = 0; i < N_FORMATS; i++)
        if (format_names[i].fmt == fmt)
            return format_names[i].name;
    return "unknown";
}
