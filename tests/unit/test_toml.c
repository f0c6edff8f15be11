/*
 * Unit tests of the TOML reader (temporal/config/toml.h, linked alone): values of every
 * supported kind, tables and their redefinitions, and the inputs it refuses with the line and
 * a message that names the problem (never the value).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/config/toml.h"

#define assert_has(s, sub)                                                                    \
    do {                                                                                      \
        if (!strstr((s), (sub)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (s), (sub));                           \
    } while (0)

static toml_doc *parse_ok(const char *text)
{
    toml_doc *d = NULL;
    char err[256];
    int rc = toml_parse(&d, text, strlen(text), err, sizeof(err));
    if (rc != TOML_OK)
        fail_msg("%s: %s", toml_strerror(rc), err);
    return d;
}

static const toml_node *at_path(const toml_doc *d, const char *const *keys)
{
    const toml_node *n = toml_root(d);
    for (; *keys && n; keys++)
        n = toml_find(n, *keys);
    assert_non_null(n);
    return n;
}

#define AT(d, ...) at_path((d), (const char *const[]){__VA_ARGS__, NULL})

static void toml_values(void **st)
{
    const char *text = "\xEF\xBB\xBF# comment\n"
                       "title = \"x\" # trailing\n"
                       "\"quoted key\" = 'lit\\n'\n"
                       "'' = \"empty key\"\n"
                       "esc = \"a\\\"b\\\\c\\td\\u00e9\\U0001F600\\b\\f\\r\\n\"\n"
                       "ml = \"\"\"\nline1\nline2 \\\n    continued\"\"\"\n"
                       "mll = '''\nraw \\n '''\n"
                       "quotes = \"\"\"a\"\"b\"\"\"\"\n"
                       "lquotes = '''x'''''\n"
                       "ints = [+99, -17, 1_000, 0, -0, 0xDEAD_beef, 0o755, 0b1101,\n"
                       "  # a comment inside\n"
                       "  9223372036854775807, -9223372036854775808,]\n"
                       "inl = { a = 1, b.c = \"x\", d = { e = [] } }\n"
                       "bools = [ true , false ]\n"
                       "crlf = \"\"\"\r\na\r\nb\"\"\"\r\n";
    toml_doc *d = parse_ok(text);
    size_t len;
    assert_string_equal(toml_string(AT(d, "title"), NULL), "x");
    assert_string_equal(toml_string(AT(d, "quoted key"), NULL), "lit\\n");
    assert_string_equal(toml_string(AT(d, ""), NULL), "empty key");
    assert_string_equal(toml_string(AT(d, "esc"), &len),
                        "a\"b\\c\td\xC3\xA9\xF0\x9F\x98\x80\b\f\r\n");
    assert_int_equal(len, strlen("a\"b\\c\td\xC3\xA9\xF0\x9F\x98\x80\b\f\r\n"));
    assert_string_equal(toml_string(AT(d, "ml"), NULL), "line1\nline2 continued");
    assert_string_equal(toml_string(AT(d, "mll"), NULL), "raw \\n ");
    assert_string_equal(toml_string(AT(d, "quotes"), NULL), "a\"\"b\"");
    assert_string_equal(toml_string(AT(d, "lquotes"), NULL), "x''");
    assert_string_equal(toml_string(AT(d, "crlf"), NULL), "a\nb");
    const toml_node *ints = AT(d, "ints");
    static const long long want[] = {99, -17, 1000, 0, 0, 0xDEADBEEF, 0755, 13,
                                     9223372036854775807LL, -9223372036854775807LL - 1};
    assert_int_equal(toml_node_type(ints), TOML_ARRAY);
    assert_int_equal(toml_count(ints), 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(toml_node_type(toml_child(ints, i)), TOML_INT);
        assert_true(toml_int(toml_child(ints, i)) == want[i]);
    }
    assert_null(toml_key(ints, 0));
    assert_int_equal(toml_node_line(toml_child(ints, 8)), 16);
    assert_true(toml_int(AT(d, "inl", "a")) == 1);
    assert_string_equal(toml_string(AT(d, "inl", "b", "c"), NULL), "x");
    assert_int_equal(toml_count(AT(d, "inl", "d", "e")), 0);
    assert_int_equal(toml_bool(toml_child(AT(d, "bools"), 0)), 1);
    assert_int_equal(toml_bool(toml_child(AT(d, "bools"), 1)), 0);
    assert_int_equal(toml_node_line(AT(d, "esc")), 5);
    assert_int_equal(toml_node_line(AT(d, "crlf")), 19);
    /* Accessors on the wrong type answer zero values. */
    assert_null(toml_string(AT(d, "inl"), &len));
    assert_int_equal(len, 0);
    assert_int_equal(toml_bool(AT(d, "title")), 0);
    assert_true(toml_int(AT(d, "title")) == 0);
    assert_null(toml_find(AT(d, "title"), "x"));
    assert_string_equal(toml_key(toml_root(d), 0), "title");
    assert_int_equal(toml_node_line(toml_root(d)), 0);
    toml_free(d);
    toml_free(NULL);

    d = parse_ok(""); /* empty documents are fine */
    assert_int_equal(toml_count(toml_root(d)), 0);
    toml_free(d);
}

static void toml_tables(void **st)
{
    const char *text = "top.x = 1\n"
                       "[a.\"b c\".d]\n"
                       "x = 1\n"
                       "[a]\n"
                       "y.z = 2\n"
                       "[a.y.w]\n" /* sub-table of a dotted-key table: allowed */
                       "q = 3\n"
                       "[ e . 'f' ]\n"
                       "[top.sub]\n";
    toml_doc *d = parse_ok(text);
    assert_true(toml_int(AT(d, "top", "x")) == 1);
    assert_true(toml_int(AT(d, "a", "b c", "d", "x")) == 1);
    assert_true(toml_int(AT(d, "a", "y", "z")) == 2);
    assert_true(toml_int(AT(d, "a", "y", "w", "q")) == 3);
    assert_int_equal(toml_node_type(AT(d, "e", "f")), TOML_TABLE);
    assert_int_equal(toml_node_line(AT(d, "a")), 4);
    assert_int_equal(toml_node_type(AT(d, "top", "sub")), TOML_TABLE);
    toml_free(d);
}

static void toml_rejects(void **st)
{
    static const struct {
        const char *text, *msg;
        int code;
    } bad[] = {
        {"a = \"abc\n", "line 1: unterminated string", TOML_ESYNTAX},
        {"\n\nkey = \"\"\"abc\n\n", "line 3: unterminated multi-line string", TOML_ESYNTAX},
        {"k = '''abc", "line 1: unterminated multi-line literal", TOML_ESYNTAX},
        {"[]\n", "line 1: empty table header", TOML_ESYNTAX},
        {"[a.]\n", "expected a key, found ']'", TOML_ESYNTAX},
        {"a = 1\na = 2\n", "line 2: duplicate key a (first set at line 1)", TOML_ESYNTAX},
        {"[x]\n[x]\n", "line 2: duplicate table [x] (first defined at line 1)", TOML_ESYNTAX},
        {"a = \"\\q\"", "invalid escape \\q", TOML_ESYNTAX},
        {"a = \"\\uD800\"", "not a Unicode scalar value", TOML_ESYNTAX},
        {"a = \"\\U00110000\"", "not a Unicode scalar value", TOML_ESYNTAX},
        {"a = \"\\u0000\"", "NUL", TOML_ESYNTAX},
        {"a = \"\\u12\"", "expected 4 hex digits", TOML_ESYNTAX},
        {"a = 1.5", "floating-point", TOML_ESYNTAX},
        {"a = 1e3", "floating-point", TOML_ESYNTAX},
        {"a = inf", "floating-point", TOML_ESYNTAX},
        {"a = 1979-05-27", "dates and times", TOML_ESYNTAX},
        {"a = 07:32:00", "dates and times", TOML_ESYNTAX},
        {"a = 07", "leading zeros", TOML_ESYNTAX},
        {"a = 9223372036854775808", "out of range", TOML_ESYNTAX},
        {"a = -0x1", "sign is not allowed", TOML_ESYNTAX},
        {"a = 1__0", "not a valid integer", TOML_ESYNTAX},
        {"a = 1_", "not a valid integer", TOML_ESYNTAX},
        {"a = 0b102", "not a valid integer", TOML_ESYNTAX},
        {"a = bare", "strings must be quoted", TOML_ESYNTAX},
        {"a = TRUE", "strings must be quoted", TOML_ESYNTAX},
        {"a = truex", "strings must be quoted", TOML_ESYNTAX},
        {"[[a]]", "arrays of tables", TOML_ESYNTAX},
        {"a = 1 b = 2", "expected the end of the line after a value, found 'b'", TOML_ESYNTAX},
        {"[a] x", "expected the end of the line after a table header", TOML_ESYNTAX},
        {"a = { b = 1,\n c = 2 }", "line 1: unterminated inline table", TOML_ESYNTAX},
        {"a = { b = 1, }", "expected a key, found '}'", TOML_ESYNTAX},
        {"a = { b = 1 c = 2 }", "expected ',' or '}'", TOML_ESYNTAX},
        {"a = {b = 1}\n[a]\n", "line 2: table a was defined inline at line 1", TOML_ESYNTAX},
        {"a = {b = 1}\na.c = 2\n", "cannot add keys with a dotted key to table a, defined "
                                   "inline", TOML_ESYNTAX},
        {"a = {b = 1, b = 2}", "duplicate key b", TOML_ESYNTAX},
        {"a.b = 1\n[a]\n", "line 2: table [a] was already defined with dotted keys at line 1",
         TOML_ESYNTAX},
        {"[a.b]\n[a]\nb.c = 1\n", "line 3: cannot add keys with a dotted key to table b",
         TOML_ESYNTAX},
        {"a = 1\n[a]\n", "line 2: a was set to an integer at line 1, it is not a table",
         TOML_ESYNTAX},
        {"a = []\na.b = 1\n", "a was set to an array at line 1", TOML_ESYNTAX},
        {"a = [1, 2\n", "line 1: unterminated array", TOML_ESYNTAX},
        {"a = [1 2]", "expected ',' or ']'", TOML_ESYNTAX},
        {"a = \"x\001\"", "control character 0x01", TOML_ESYNTAX},
        {"# \001\n", "control character 0x01 in a comment", TOML_ESYNTAX},
        {"\n\na = \"\xff\"", "line 3: invalid UTF-8", TOML_ESYNTAX},
        {"a = \"\xed\xa0\x80\"", "invalid UTF-8", TOML_ESYNTAX}, /* an encoded surrogate */
        {"a = \"\xc0\xaf\"", "invalid UTF-8", TOML_ESYNTAX},     /* overlong */
        {"a =\n", "line 1: missing value", TOML_ESYNTAX},
        {"= 1", "expected a key, found '='", TOML_ESYNTAX},
        {"a \"b\" = 1", "expected '=' after a key, found '\"'", TOML_ESYNTAX},
        {"\"\"\"k\"\"\" = 1", "a key cannot be a multi-line string", TOML_ESYNTAX},
        {"a = \"\"\"x\"\"\"\"\"\"", "too many quotes", TOML_ESYNTAX},
        {"a = 1\r", "found byte 0x0D", TOML_ESYNTAX},
        {"a = \"\"\"x\ry\"\"\"", "carriage return without a line feed", TOML_ESYNTAX},
        {"a = [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]", "nested deeper than 16", TOML_ETOOBIG},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q = 1", "more than 16 dotted parts", TOML_ESYNTAX},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        toml_doc *d = (toml_doc *)1;
        char err[256];
        int rc = toml_parse(&d, bad[i].text, strlen(bad[i].text), err, sizeof(err));
        if (rc != bad[i].code)
            fail_msg("case %zu: code %d (%s), want %d", i, rc, err, bad[i].code);
        assert_null(d);
        assert_has(err, bad[i].msg);
    }
    /* Bounds: input size and entries per table. */
    size_t big = TOML_MAX_INPUT + 1;
    char *text = malloc(big);
    char err[256];
    toml_doc *d;
    assert_non_null(text);
    memset(text, '\n', big);
    assert_int_equal(toml_parse(&d, text, big, err, sizeof(err)), TOML_ETOOBIG);
    size_t o = 0;
    for (int i = 0; i <= TOML_MAX_ENTRIES; i++)
        o += (size_t)snprintf(text + o, big - o, "k%d = %d\n", i, i);
    assert_int_equal(toml_parse(&d, text, o, err, sizeof(err)), TOML_ETOOBIG);
    assert_has(err, "more than 4096 entries");
    free(text);
    /* A small error buffer is truncated safely; a zero-sized one is left alone. */
    char tiny[6];
    assert_int_equal(toml_parse(&d, "a = ?", 5, tiny, sizeof(tiny)), TOML_ESYNTAX);
    assert_string_equal(tiny, "line ");
    assert_int_equal(toml_parse(&d, "a = ?", 5, NULL, 0), TOML_ESYNTAX);
    assert_string_not_equal(toml_strerror(TOML_ETOOBIG), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(toml_values),
        cmocka_unit_test(toml_tables),
        cmocka_unit_test(toml_rejects),
    };
    return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
