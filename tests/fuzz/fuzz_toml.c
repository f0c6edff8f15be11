/*
 * fuzz_toml: the TOML reader (temporal/config/toml.h) on arbitrary bytes, as a config file would hand
 * them to it. A document that parses is walked whole through the public accessors, checking
 * what toml.h promises: strings have no NUL inside and the length it reports, every table
 * entry has a key that toml_find() finds again, lines are within the input, nesting is bounded.
 * A document that does not parse must come with a message.
 *
 * To reach TOML_MAX_ENTRIES with small inputs, an input whose first
 * line starts "#*N" (N from 1 to 99999) is amplified (to at most 64 KiB) before parsing: the rest is A \x01 B \x01 C
 * and becomes A, N copies of B, then C, with every \x02 in copy i replaced by i (so keys can
 * differ); without two \x01 the whole rest is repeated. The first line stays (a comment).
 */

#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/config/toml.h"

#define check FUZZ_CHECK

static void walk(const toml_node *n, int depth, int lines)
{
    /* A header and a dotted key add up to 16 levels each, every array or inline table (at
     * most TOML_MAX_DEPTH) 1 plus its own dotted keys: the tree stays shallow. */
    check(depth <= 16 * (TOML_MAX_DEPTH + 2));
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
            if (i < 64 || i + 1 == count) /* keys are unique (a sample: lookups are linear) */
                check(toml_find(n, key) == toml_child(n, i));
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

/* Enough for TOML_MAX_ENTRIES short entries; larger would only slow the fuzzer down (lookups
 * in a table are linear). */
#define AMPLIFY_MAX (64 * 1024)

typedef struct grow {
    char *d;
    size_t len;
} grow;

static int put(grow *g, const void *p, size_t n)
{
    if (g->len + n > AMPLIFY_MAX)
        return -1;
    memcpy(g->d + g->len, p, n);
    g->len += n;
    return 0;
}

/* The amplified text of an input starting "#*N", or NULL (see the top of the file). */
static char *amplify(const uint8_t *data, size_t size, size_t *outlen)
{
    if (size < 3 || memcmp(data, "#*", 2) != 0 || data[2] < '1' || data[2] > '9')
        return NULL;
    size_t n = 0, i = 2;
    while (i < size && i < 7 && data[i] >= '0' && data[i] <= '9')
        n = n * 10 + (size_t)(data[i++] - '0');
    const uint8_t *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - data) + 1 : size;
    const uint8_t *rest = data + head, *end = data + size;
    const uint8_t *s1 = memchr(rest, 1, (size_t)(end - rest));
    const uint8_t *s2 = s1 ? memchr(s1 + 1, 1, (size_t)(end - s1 - 1)) : NULL;
    const uint8_t *a = rest, *b = rest, *c = end;
    size_t alen = 0, blen = (size_t)(end - rest), clen = 0;
    if (s2) {
        alen = (size_t)(s1 - rest);
        b = s1 + 1;
        blen = (size_t)(s2 - b);
        c = s2 + 1;
        clen = (size_t)(end - c);
    }
    grow g = {malloc(AMPLIFY_MAX), 0};
    check(g.d != NULL);
    put(&g, data, head);
    put(&g, a, alen);
    for (size_t k = 0; k < n; k++) {
        char num[24];
        int numlen = snprintf(num, sizeof(num), "%zu", k), full = 0;
        for (size_t j = 0; j < blen && !full; j++)
            full = b[j] == 2 ? put(&g, num, (size_t)numlen) : put(&g, &b[j], 1);
        if (full)
            break;
    }
    put(&g, c, clen);
    *outlen = g.len;
    return g.d;
}

static void parse(const char *text, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t biglen;
    char *big = amplify(data, size, &biglen);
    parse(big ? big : (const char *)data, big ? biglen : size);
    free(big);
    return 0;
}

static void parse(const char *text, size_t size)
{
    const uint8_t *data = (const uint8_t *)text;
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
        return;
    }
    check(doc != NULL);
    const toml_node *root = toml_root(doc);
    check(root && toml_node_type(root) == TOML_TABLE && toml_node_line(root) == 0);
    walk(root, 0, lines);
    toml_free(doc);
    if (size > 4096)
        return;
    /* A tiny error buffer must still be terminated and never overrun. */
    char small[4];
    rc = toml_parse(&doc, (const char *)data, size, small, sizeof(small));
    check(memchr(small, '\0', sizeof(small)) != NULL);
    toml_free(doc);
}
