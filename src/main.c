/* certgate command line: run / check / verify / decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/decode.h"
#include "cli/verify.h"
#include "config/config.h"
#include "core/gateway.h"

#define CERTGATE_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f, "usage:\n"
               "  certgate run -c certgate.yaml [--workers N]\n"
               "  certgate run --listen ADDR [--cert F --key F | --pkcs12 F] [--client-ca F]\n"
               "               [--client-auth ignore|request|optional|require]\n"
               "               [--forward NAME=FORMAT]... [--backend URL|echo] [--workers N]\n"
               "  certgate check -c certgate.yaml\n"
               "  certgate verify [--ca F]... [--untrusted F]... [--issuer DN|F]... [--at TIME]\n"
               "               [--crl F]... [--ocsp [URL]] [--ocsp-timeout D] [--depth N]\n"
               "               [--eku clientAuth|serverAuth|any|none]\n"
               "               [--allow-cn X]... [-c FILE --policy NAME] [--json] cert.pem\n"
               "  certgate decode [--format auto|base64-der|pem-urlencoded|hex|rfc9440|xfcc] "
               "VALUE|-\n"
               "  certgate version\n");
}

/* Pull "-c FILE" / "--config FILE" and "--workers N" out of argv. */
static int split_args(int argc, char **argv, const char **file, int *workers, char **rest,
                      int *nrest)
{
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            *file = argv[++i];
        } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "--workers: expected a number from 1 to 256\n");
                return -1;
            }
            *workers = (int)n;
        } else {
            rest[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

static struct config *load(int argc, char **argv, int *workers, int quick_ok)
{
    const char *file = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    struct cfg_error err = {{0}};
    struct config *cfg = NULL;
    if (rest == NULL || split_args(argc, argv, &file, workers, rest, &nrest) < 0)
        goto out;
    if (file && nrest) {
        fprintf(stderr, "%s: unexpected with -c (quick-mode flags need no file)\n", rest[0]);
        goto out;
    }
    if (file)
        cfg = config_load(file, &err);
    else if (quick_ok)
        cfg = config_from_args(nrest, rest, &err);
    else
        snprintf(err.msg, sizeof(err.msg), "-c FILE is required");
    if (cfg == NULL)
        fprintf(stderr, "%s\n", err.msg);
out:
    free(rest);
    return cfg;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int workers = 0;
    if (!strcmp(cmd, "run")) {
        struct config *cfg = load(argc - 2, argv + 2, &workers, 1);
        if (cfg == NULL)
            return 1;
        if (workers == 0)
            workers = cfg->workers;
        return gateway_run(cfg, workers);
    }
    if (!strcmp(cmd, "check")) {
        struct config *cfg = load(argc - 2, argv + 2, &workers, 0);
        if (cfg == NULL)
            return 1;
        printf("%s: ok\n", cfg->path ? cfg->path : "configuration");
        config_free(cfg);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("certgate %s\n", CERTGATE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "verify"))
        return cli_verify(argc - 2, argv + 2);
    if (!strcmp(cmd, "decode"))
        return cli_decode(argc - 2, argv + 2);
    fprintf(stderr, "certgate: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
