/* The public test vectors of tests/testdata (CERTGATE_TESTDATA, set by the
 * Makefile), for the unit tests that read them. */
#ifndef CERTGATE_TESTS_TESTDATA_H
#define CERTGATE_TESTS_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

static inline const char *testdata(void)
{
    const char *d = getenv("CERTGATE_TESTDATA");
    return d != NULL && d[0] != '\0' ? d : "tests/testdata";
}

/* Whole file <rel> under the test data dir, NUL-terminated (caller frees);
 * fails the test if absent. */
static inline unsigned char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", testdata(), rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (set CERTGATE_TESTDATA)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif
