/*
 * fuzz_toml: the TOML reader (temporal/toml.h) on arbitrary bytes, as a config file would hand
 * them to it. A document that parses is walked whole through the public accessors, checking
 * what toml.h promises: strings have no NUL inside and the length it reports, every table
 * entry has a key that toml_find() finds again, lines are within the input, nesting is bounded.
 * A document that does not parse must come with a message.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "temporal/toml.h"

#define check FUZZ_CHECK

static void walk(const toml_node *n, int depth, int lines)
{
    /* Header tables count as nesting only through inline tables and arrays. */
    check(depth <= TOML_MAX_DEPTH + 64);
    check(toml_node_line(n) >= 0 && toml_node_line(n) <= lines);
    toml_type t = toml_node_type(n);
    check(toml_type_name(t) && toml_type_phrase(t));
    size_t count = toml_count(n);
    check(count <= TOML_MAX_ENTRIES);
    switch (t) {
    case TOML_STRING: {
        size_t len = 99;
        const char *s = toml_string(n, &len);
        check(s && strlen(s) == len);
        check(toml_bool(n) == 0 && toml_int(n) == 0 && count == 0);
        break;
    }
    case TOML_BOOL:
        check(toml_bool(n) == 0 || toml_bool(n) == 1);
        check(!toml_string(n, NULL) && count == 0);
        break;
    case TOML_INT:
        check(!toml_string(n, NULL) && count == 0);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < count; i++) {
            const char *key = toml_key(n, i);
            check(key != NULL);
            check(toml_find(n, key) == toml_child(n, i)); /* keys are unique */
            walk(toml_child(n, i), depth + 1, lines);
        }
        check(toml_key(n, count) == NULL && toml_child(n, count) == NULL);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < count; i++) {
            check(toml_key(n, i) == NULL);
            walk(toml_child(n, i), depth + 1, lines);
        }
        break;
    default:
        check(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    toml_doc *doc = (toml_doc *)1;
    char err[160];
    int lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    int rc = toml_parse(&doc, (const char *)data, size, err, sizeof(err));
    if (rc != TOML_OK) {
        check(doc == NULL);
        check(rc == TOML_ESYNTAX || rc == TOML_ETOOBIG || rc == TOML_ENOMEM);
        check(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        check(strcmp(toml_strerror(rc), "unknown error") != 0);
        return 0;
    }
    check(doc != NULL);
    const toml_node *root = toml_root(doc);
    check(root && toml_node_type(root) == TOML_TABLE && toml_node_line(root) == 0);
    walk(root, 0, lines);
    toml_free(doc);
    /* A tiny error buffer must still be terminated and never overrun. */
    char small[4];
    rc = toml_parse(&doc, (const char *)data, size, small, sizeof(small));
    check(memchr(small, '\0', sizeof(small)) != NULL);
    toml_free(doc);
    return 0;
}
