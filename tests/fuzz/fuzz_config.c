/* libFuzzer driver for the YAML config loader (src/config): the input is written to
 * certgate.yaml in a per-process temp dir, otherwise empty. The loader resolves relative paths
 * against the config file's directory (not the working directory, which libFuzzer needs for
 * its corpus paths), so the certificate, key and CA files the YAML names do not exist;
 * absolute paths still reach real files, which the loader only reads. config_load then
 * config_free: a refusal is fine; a crash, a leak or a refusal without
 * "file:line:column: message" is not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static char dir[64];
static char path[128];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/fuzz_config.XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_config: temp dir");
        abort();
    }
    snprintf(path, sizeof(path), "%s/certgate.yaml", dir);
    atexit(cleanup);
    /* a YAML naming /dev/stdin as a file must not wait on a terminal */
    if (freopen("/dev/null", "r", stdin) == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_error err;
    struct config *cfg;
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror("fuzz_config: writing the config");
        abort();
    }
    memset(&err, 0x5a, sizeof(err));
    cfg = config_load(path, &err);
    if (cfg == NULL) {
        /* the message names the file, then a sentence */
        int line = 0, col = 0, at = 0;

        if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
            strncmp(err.msg, path, strlen(path)) != 0 ||
            sscanf(err.msg + strlen(path), ":%d:%d: %n", &line, &col, &at) != 2 || at == 0 ||
            line < 1 || col < 1 || err.msg[strlen(path) + (size_t)at] == '\0') {
            fprintf(stderr, "config_load refused without \"file:line:column: message\": %.*s\n",
                    (int)sizeof(err.msg), err.msg);
            abort();
        }
    }
    config_free(cfg);
    return 0;
}
