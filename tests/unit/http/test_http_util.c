/* Unit tests for src/http/http_util.c: name compare, token lists, authority grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_internal.h"
#include "http/http_parse.h"

static void test_name_eq(void **state)
{
    struct http_header h = {.name = "Content-LengthX", .name_len = 14};
    assert_int_equal(http_name_eq(&h, "content-length"), 1);
    assert_int_equal(http_name_eq(&h, "CONTENT-LENGTH"), 1);
    assert_int_equal(http_name_eq(&h, "content-lengthx"), 0);
    assert_int_equal(http_name_eq(&h, "content-lengt"), 0);
    assert_int_equal(http_name_eq(&h, "content_length"), 0);
    assert_int_equal(http_name_eq(&h, ""), 0);
    assert_int_equal(http_name_eq(NULL, "x"), 0);
    assert_int_equal(http_name_eq(&h, NULL), 0);
    /* '@' and '`' differ from 'A'/'a' only in the case bit: not equal */
    struct http_header odd = {.name = "@", .name_len = 1};
    assert_int_equal(http_name_eq(&odd, "`"), 0);
}

static int has(const char *list, const char *tok)
{
    return http_list_has(list, strlen(list), tok);
}

static void test_list_has(void **state)
{
    assert_int_equal(has("close", "close"), 1);
    assert_int_equal(has("Keep-Alive, Upgrade", "upgrade"), 1);
    assert_int_equal(has("a ,\tclose\t, b", "close"), 1);
    assert_int_equal(has("a,,close,", "close"), 1);
    assert_int_equal(has("closed", "close"), 0);
    assert_int_equal(has("xclose", "close"), 0);
    assert_int_equal(has("clo se", "close"), 0);
    assert_int_equal(has("", "close"), 0);
    assert_int_equal(has("a, b", "a, b"), 0);
    /* the length bounds the search, not a NUL */
    assert_int_equal(http_list_has("a, close", 4, "close"), 0);
    assert_int_equal(http_list_has(NULL, 0, "close"), 0);
}

static void test_authority(void **state)
{
    static const struct {
        const char *s;
        int port_required, ok;
    } cases[] = {
        {"a.example", 0, 1},
        {"a.example:443", 1, 1},
        {"a.example", 1, 0},
        {"a.example:", 0, 0},
        {"a.example:0", 0, 1},
        {"a.example:65535", 0, 1},
        {"a.example:65536", 0, 0},
        {"a.example:000443", 0, 0},
        {":443", 0, 0},
        {"", 0, 0},
        {"A-b_c~d.!$&'()*+,;=", 0, 1},
        {"a%41", 0, 1},
        {"a%4", 0, 0},
        {"a%zz", 0, 0},
        {"a b", 0, 0},
        {"a@b", 0, 0},
        {"a/b", 0, 0},
        {"192.0.2.1:80", 0, 1},
        {"[::]", 0, 1},
        {"[::1]:8443", 1, 1},
        {"[1:2:3:4:5:6:7:8]", 0, 1},
        {"[1:2:3:4:5:6:7::]", 0, 1},
        {"[1::8]", 0, 1},
        {"[::ffff:192.0.2.1]", 0, 1},
        {"[1:2:3:4:5:6:192.0.2.1]", 0, 1},
        {"[1:2:3:4:5:6:7:8:9]", 0, 0},
        {"[1:2:3:4:5:6:7]", 0, 0},
        {"[1::2::3]", 0, 0},
        {"[1:2:3:4::5:6:7:8]", 0, 0},
        {"[12345::]", 0, 0},
        {"[:1::]", 0, 0},
        {"[1:]", 0, 0},
        {"[::g]", 0, 0},
        {"[::1.2.3]", 0, 0},
        {"[::1.2.3.256]", 0, 0},
        {"[::1.2.3.04]", 0, 0},
        {"[1:2:3:4:5:6:7:1.2.3.4]", 0, 0},
        {"[]", 0, 0},
        {"[::1", 0, 0},
        {"[::1]x", 0, 0},
        {"[::1]:", 0, 0},
        {"[v1.x]", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ok = http_authority_valid(cases[i].s, strlen(cases[i].s), cases[i].port_required);
        if (ok != cases[i].ok)
            fail_msg("%s (port %d): %d", cases[i].s, cases[i].port_required, ok);
    }
}

static void test_char_classes(void **state)
{
    int tchars = 0, fields = 0;
    for (int c = 0; c < 256; c++) {
        tchars += http_is_tchar((unsigned char)c) != 0;
        fields += http_is_field_byte((unsigned char)c) != 0;
    }
    assert_int_equal(tchars, 77);               /* 62 alphanumerics + 15 symbols */
    assert_int_equal(fields, 256 - 32 - 1 + 1); /* all but CTLs and DEL, plus HTAB */
    assert_int_equal(http_is_tchar(' '), 0);
    assert_int_equal(http_is_tchar(':'), 0);
    assert_int_equal(http_is_field_byte('\r'), 0);
    assert_int_equal(http_is_field_byte(0x80), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_eq),
        cmocka_unit_test(test_list_has),
        cmocka_unit_test(test_authority),
        cmocka_unit_test(test_char_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
