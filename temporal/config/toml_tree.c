/*
 * toml_tree: the document's node tree (nodes, tables by key, arrays in order), its error
 * messages and the read functions of toml.h. See toml_int.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/toml_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void toml_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

int toml_fail(parser *ps, int code, int line, const char *fmt, ...)
{
    if (!ps->errlen)
        return code;
    int n = line > 0 ? snprintf(ps->err, ps->errlen, "line %d: ", line) : 0;
    if (n < 0 || (size_t)n >= ps->errlen)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

void toml_node_free(toml_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        toml_node_free(n->kids[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    if (n->str) {
        toml_wipe(n->str, n->len);
        free(n->str);
    }
    free(n);
}

toml_node *toml_node_new(toml_type type, int line)
{
    toml_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->type = type;
        n->line = line;
    }
    return n;
}

/* Appends |v| (and |key| for tables); both belong to |t| on success only. */
int toml_node_add(parser *ps, toml_node *t, char *key, toml_node *v)
{
    if (t->n == TOML_MAX_ENTRIES)
        return toml_fail(ps, TOML_ETOOBIG, v->line, "more than %d entries in one table or array",
                         TOML_MAX_ENTRIES);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        toml_node **kids = realloc(t->kids, cap * sizeof(*kids));
        if (!kids)
            return oom(ps);
        t->kids = kids;
        if (t->type == TOML_TABLE) {
            char **keys = realloc(t->keys, cap * sizeof(*keys));
            if (!keys)
                return oom(ps);
            t->keys = keys;
        }
        t->cap = cap;
    }
    if (t->type == TOML_TABLE)
        t->keys[t->n] = key;
    t->kids[t->n++] = v;
    return TOML_OK;
}

toml_node *toml_table_get(const toml_node *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0)
            return t->kids[i];
    return NULL;
}

const char *toml_type_phrase(toml_type t)
{
    switch (t) {
    case TOML_TABLE: return "a table";
    case TOML_ARRAY: return "an array";
    case TOML_STRING: return "a string";
    case TOML_BOOL: return "a boolean";
    case TOML_INT: return "an integer";
    }
    return "a value";
}

void toml_free(toml_doc *doc)
{
    if (!doc)
        return;
    toml_node_free(doc->root);
    free(doc);
}

const char *toml_strerror(int code)
{
    switch (code) {
    case TOML_OK: return "success";
    case TOML_ENOMEM: return "out of memory";
    case TOML_ESYNTAX: return "invalid or unsupported TOML";
    case TOML_ETOOBIG: return "TOML input over a size limit";
    }
    return "unknown error";
}

const toml_node *toml_root(const toml_doc *doc)
{
    return doc ? doc->root : NULL;
}

toml_type toml_node_type(const toml_node *n)
{
    return n->type;
}

const char *toml_type_name(toml_type t)
{
    switch (t) {
    case TOML_TABLE: return "table";
    case TOML_ARRAY: return "array";
    case TOML_STRING: return "string";
    case TOML_BOOL: return "boolean";
    case TOML_INT: return "integer";
    }
    return "value";
}

int toml_node_line(const toml_node *n)
{
    return n ? n->line : 0;
}

size_t toml_count(const toml_node *n)
{
    return n && (n->type == TOML_TABLE || n->type == TOML_ARRAY) ? n->n : 0;
}

const toml_node *toml_child(const toml_node *n, size_t i)
{
    return i < toml_count(n) ? n->kids[i] : NULL;
}

const char *toml_key(const toml_node *table, size_t i)
{
    return table && table->type == TOML_TABLE && i < table->n ? table->keys[i] : NULL;
}

const toml_node *toml_find(const toml_node *table, const char *key)
{
    return table && table->type == TOML_TABLE && key ? toml_table_get(table, key) : NULL;
}

const char *toml_string(const toml_node *n, size_t *len)
{
    int ok = n && n->type == TOML_STRING;
    if (len)
        *len = ok ? n->len : 0;
    return ok ? n->str : NULL;
}

int toml_bool(const toml_node *n)
{
    return n && n->type == TOML_BOOL ? (int)n->num : 0;
}

long long toml_int(const toml_node *n)
{
    return n && n->type == TOML_INT ? n->num : 0;
}
