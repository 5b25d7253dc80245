/* yaml_tree: node kinds, 1-based marks, and the errors the tree itself raises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/yaml_tree.h"

static int parse(const char *text, struct yt_doc *doc, struct yt_error *err)
{
    return yt_parse(text, strlen(text), doc, err);
}

static void expect_error(const char *text, int line, int col, const char *msg)
{
    struct yt_doc doc;
    struct yt_error err;

    assert_int_equal(parse(text, &doc, &err), -1);
    assert_null(doc.root);
    assert_string_equal(err.msg, msg);
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, col);
}

static void test_block_marks(void **state)
{
    const char *text = "a: 1\n"
                       "list:\n"
                       "  - x\n"
                       "  - {k: 'v'}\n";
    struct yt_doc doc;
    struct yt_error err;
    const struct yt_node *list, *m;

    assert_int_equal(parse(text, &doc, &err), 0);
    assert_int_equal(doc.root->type, YT_MAP);
    assert_int_equal(doc.root->n, 2);
    assert_int_equal(doc.root->line, 1);
    assert_int_equal(doc.root->col, 1);
    assert_string_equal(doc.root->pairs[0].key->str, "a");
    assert_string_equal(doc.root->pairs[0].val->str, "1");
    assert_int_equal(doc.root->pairs[0].val->line, 1);
    assert_int_equal(doc.root->pairs[0].val->col, 4);
    list = yt_map_get(doc.root, "list");
    assert_non_null(list);
    assert_int_equal(list->type, YT_SEQ);
    assert_int_equal(list->n, 2);
    assert_int_equal(list->line, 3);
    assert_int_equal(list->col, 3);
    assert_string_equal(list->items[0]->str, "x");
    assert_int_equal(list->items[0]->col, 5);
    m = list->items[1];
    assert_int_equal(m->type, YT_MAP);
    assert_int_equal(m->line, 4);
    assert_int_equal(m->col, 5);
    assert_int_equal(yt_map_get(m, "k")->col, 9);
    assert_int_equal(yt_map_key(m, "k")->col, 6);
    assert_null(yt_map_get(m, "nope"));
    assert_null(yt_map_get(list, "k"));
    yt_free(&doc);
    assert_null(doc.root);
}

static void test_plain_and_null(void **state)
{
    const char *text = "a: ~\nb:\nc: null\nd: 'null'\ne: \"\"\nf: !!str null\ng: NULL\n";
    struct yt_doc doc;
    struct yt_error err;

    assert_int_equal(parse(text, &doc, &err), 0);
    assert_true(yt_is_null(yt_map_get(doc.root, "a")));
    assert_true(yt_is_null(yt_map_get(doc.root, "b")));
    assert_true(yt_is_null(yt_map_get(doc.root, "c")));
    assert_false(yt_is_null(yt_map_get(doc.root, "d")));
    assert_false(yt_is_null(yt_map_get(doc.root, "e")));
    assert_false(yt_is_null(yt_map_get(doc.root, "f")));
    assert_true(yt_is_null(yt_map_get(doc.root, "g")));
    assert_int_equal(yt_map_get(doc.root, "a")->plain, 1);
    assert_int_equal(yt_map_get(doc.root, "d")->plain, 0);
    assert_int_equal(yt_map_get(doc.root, "e")->len, 0);
    yt_free(&doc);
}

static void test_empty_document(void **state)
{
    struct yt_doc doc;
    struct yt_error err;

    assert_int_equal(parse("", &doc, &err), 0);
    assert_null(doc.root);
    yt_free(&doc);
    assert_int_equal(parse("# only a comment\n", &doc, &err), 0);
    assert_null(doc.root);
    yt_free(&doc);
}

static void test_alias_shares_node(void **state)
{
    const char *text = "t: &t {connect: 5s}\nu: *t\n";
    struct yt_doc doc;
    struct yt_error err;

    assert_int_equal(parse(text, &doc, &err), 0);
    assert_ptr_equal(yt_map_get(doc.root, "t"), yt_map_get(doc.root, "u"));
    assert_string_equal(yt_map_get(yt_map_get(doc.root, "u"), "connect")->str, "5s");
    yt_free(&doc);
}

static void test_duplicate_key(void **state)
{
    expect_error("a: 1\nb: 2\n  \na: 3\n", 4, 1, "duplicate key 'a' (first at line 1)");
    expect_error("m: {x: 1, x: 2}\n", 1, 11, "duplicate key 'x' (first at line 1)");
}

static void test_non_scalar_key(void **state)
{
    expect_error("? [a, b]\n: 1\n", 1, 3, "mapping keys must be strings");
}

static void test_undefined_alias(void **state)
{
    expect_error("a: 1\nb: *nope\n", 2, 4, "undefined alias '*nope'");
    /* an anchor is usable only once its node is complete: no cycles */
    expect_error("a: &x [1, *x]\n", 1, 11, "undefined alias '*x'");
}

static void test_alias_bomb(void **state)
{
    char text[1024];
    struct yt_doc doc;
    struct yt_error err;

    /* 10 levels of 10 aliases each: 10^10 nodes once expanded */
    strcpy(text, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        char line[128];
        snprintf(line, sizeof(line),
                 "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i - 1,
                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    assert_int_equal(parse(text, &doc, &err), -1);
    assert_string_equal(err.msg,
                        "document too large: more than 100000 nodes once aliases are expanded");
    /* the 10th alias of a4 crosses the limit; the mark is the alias, not its anchor */
    assert_int_equal(err.line, 5);
    assert_int_equal(err.col, 46);
}

static void test_two_documents(void **state)
{
    expect_error("a: 1\n---\nb: 2\n", 2, 1, "only one YAML document is allowed");
}

static void test_syntax_errors(void **state)
{
    expect_error("a: [1, 2\nb: 3\n", 2, 2,
                 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
                 "sequence at line 1)");
    expect_error("a: b: c\n", 1, 5,
                 "YAML syntax error: mapping values are not allowed in this "
                 "context");
    expect_error("a:\n\tb: 1\n", 2, 1,
                 "YAML syntax error: found character that cannot start any token (while "
                 "scanning for the next token at line 2)");
}

static void test_invalid_utf8(void **state)
{
    expect_error("a: 1\nb: \xff\n", 2, 4, "YAML syntax error: invalid leading UTF-8 octet");
}

static void test_nul_in_string(void **state)
{
    expect_error("a: \"x\\0y\"\n", 1, 4, "NUL bytes are not allowed in strings");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_marks),     cmocka_unit_test(test_plain_and_null),
        cmocka_unit_test(test_empty_document),  cmocka_unit_test(test_alias_shares_node),
        cmocka_unit_test(test_duplicate_key),   cmocka_unit_test(test_non_scalar_key),
        cmocka_unit_test(test_undefined_alias), cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_two_documents),   cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_invalid_utf8),    cmocka_unit_test(test_nul_in_string),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
