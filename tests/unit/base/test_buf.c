#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"

static void test_limit_is_hard(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345", 5), 0);
    assert_int_equal(buf_append(&b, "6789", 4), -1); /* would pass 8: nothing appended */
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_append(&b, "678", 3), 0);
    assert_memory_equal(b.data, "12345678", 8);
    assert_int_equal(buf_reserve(&b, 100), 0);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_consume_and_printf(void **state)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_printf(&b, "%s-%d", "abc", 42), 0);
    buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "c-42", 4);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(buf_printf(&b, "%s", big), 0); /* longer than the stack scratch */
    assert_int_equal(b.len, 4 + 599);
    buf_consume(&b, 10000);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_json_escape(void **state)
{
    struct buf b;
    buf_init(&b, 256);
    const char in[] = "a\"b\\c\r\n\x01\x7f\xc3\xa9";
    assert_int_equal(buf_json_escape(&b, in, sizeof(in) - 1), 0);
    const char want[] = "a\\\"b\\\\c\\u000d\\u000a\\u0001\\u007f\xc3\xa9";
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.data, want, sizeof(want) - 1);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_is_hard),
        cmocka_unit_test(test_consume_and_printf),
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
