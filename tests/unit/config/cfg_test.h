/* Helpers for the config tests: a temp dir holding copies of data/ that the
 * tests chdir into, so YAML written there names fixtures by relative path and
 * error messages start with a stable "c.yaml:". */
#ifndef CERTGATE_TESTS_CFG_TEST_H
#define CERTGATE_TESTS_CFG_TEST_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

struct cfg_test_env {
    char dir[64];
    char old_cwd[PATH_MAX];
};

static struct cfg_test_env cfg_test_env;

static inline int cfg_test_copy(const char *from, const char *to)
{
    char buf[4096];
    size_t n;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;

    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return rc;
}

/* cmocka group setup: make the temp dir, copy data/ into it, chdir there. */
static inline int cfg_test_setup(void **state)
{
    char data[PATH_MAX], from[PATH_MAX * 2], to[PATH_MAX];
    const char *slash = strrchr(__FILE__, '/');
    struct dirent *e;
    DIR *d;

    snprintf(data, sizeof(data), "%.*s/data", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    if (getenv("CERTGATE_CONFIG_TEST_DATA"))
        snprintf(data, sizeof(data), "%s", getenv("CERTGATE_CONFIG_TEST_DATA"));
    if (!getcwd(cfg_test_env.old_cwd, sizeof(cfg_test_env.old_cwd)))
        return -1;
    snprintf(cfg_test_env.dir, sizeof(cfg_test_env.dir), "/tmp/certgate-cfgtest.XXXXXX");
    if (!mkdtemp(cfg_test_env.dir))
        return -1;
    d = opendir(data);
    if (!d) {
        fprintf(stderr, "cannot open %s (run the tests from the repository root)\n", data);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof(from), "%s/%s", data, e->d_name);
        snprintf(to, sizeof(to), "%s/%s", cfg_test_env.dir, e->d_name);
        if (cfg_test_copy(from, to)) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return chdir(cfg_test_env.dir);
}

static inline int cfg_test_teardown(void **state)
{
    char path[PATH_MAX];
    struct dirent *e;
    DIR *d = opendir(cfg_test_env.dir);

    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", cfg_test_env.dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(cfg_test_env.dir);
    return chdir(cfg_test_env.old_cwd);
}

static inline void cfg_test_write(const char *name, const char *text)
{
    FILE *f = fopen(name, "wb");

    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* Write <yaml> to c.yaml and load it. */
static inline struct config *cfg_test_load(const char *yaml, struct cfg_error *err)
{
    cfg_test_write("c.yaml", yaml);
    return config_load("c.yaml", err);
}

/* "<temp dir>/<name>" as the loader resolves it, in a static buffer. */
static inline const char *cfg_test_abs(const char *name)
{
    static char buf[PATH_MAX + 256];
    char cwd[PATH_MAX];

    if (!getcwd(cwd, sizeof(cwd)))
        abort();
    snprintf(buf, sizeof(buf), "%s/%s", cwd, name);
    return buf;
}

/* <yaml> must fail to load with exactly <msg> ("c.yaml:L:C: ..."). */
static inline void cfg_expect_err(const char *yaml, const char *msg)
{
    struct cfg_error err;
    struct config *cfg = cfg_test_load(yaml, &err);

    assert_null(cfg);
    assert_string_equal(err.msg, msg);
}

/* <yaml> must load; the caller frees the config. */
static inline struct config *cfg_expect_ok(const char *yaml)
{
    struct cfg_error err;
    struct config *cfg = cfg_test_load(yaml, &err);

    if (!cfg)
        fail_msg("%s", err.msg);
    return cfg;
}

#endif
