/*
 * toml: recursive descent over the whole input, one pass, building a tree of nodes. Tables
 * remember how they came to be (a header, a parent of a header, dotted keys, an inline
 * table), which is all TOML needs to refuse redefinitions. No value is ever echoed in an
 * error message. See toml.h for the subset and the bounds; the tokens are read by
 * toml_lex.c and the tree kept by toml_tree.c (toml_int.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/toml_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_value(parser *ps, toml_node **out);
static int insert_kv(parser *ps, toml_node *t, keypath *k, toml_node *v);

static int enter(parser *ps)
{
    if (ps->depth == TOML_MAX_DEPTH)
        return toml_fail(ps, TOML_ETOOBIG, ps->line, "arrays and inline tables nested deeper "
                         "than %d", TOML_MAX_DEPTH);
    ps->depth++;
    return TOML_OK;
}

static int parse_array(parser *ps, toml_node **out)
{
    int start = ps->line, rc = enter(ps);
    toml_node *a = rc ? NULL : toml_node_new(TOML_ARRAY, ps->line);
    char what[32];
    if (!a) {
        if (!rc)
            ps->depth--;
        return rc ? rc : oom(ps);
    }
    ps->p++; /* '[' */
    for (;;) {
        toml_node *v = NULL;
        if ((rc = toml_lex_blank(ps)))
            break;
        if (ps->p >= ps->end) {
            rc = fail(ps, start, "unterminated array");
            break;
        }
        if (*ps->p == ']') {
            ps->p++;
            break;
        }
        if ((rc = parse_value(ps, &v)))
            break;
        if ((rc = toml_node_add(ps, a, NULL, v))) {
            toml_node_free(v);
            break;
        }
        if ((rc = toml_lex_blank(ps)))
            break;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
        } else if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        } else {
            rc = ps->p >= ps->end ? fail(ps, start, "unterminated array")
                                  : fail(ps, ps->line, "expected ',' or ']' in an array, found %s",
                                         toml_lex_char_text(what, sizeof(what), ps));
            break;
        }
    }
    ps->depth--;
    if (rc) {
        toml_node_free(a);
        return rc;
    }
    *out = a;
    return TOML_OK;
}

/* { key = value, ... } on one line (TOML 1.0: no newline, no trailing comma). */
static int parse_inline_table(parser *ps, toml_node **out)
{
    int rc = enter(ps);
    toml_node *t = rc ? NULL : toml_node_new(TOML_TABLE, ps->line);
    char what[32];
    if (!t) {
        if (!rc)
            ps->depth--;
        return rc ? rc : oom(ps);
    }
    t->how = T_INLINE;
    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        goto out;
    }
    for (;;) {
        keypath k;
        toml_node *v = NULL;
        skip_ws(ps);
        if (ps->p >= ps->end || at_newline(ps) || *ps->p == '#') {
            rc = fail(ps, ps->line, "unterminated inline table (an inline table must be on one "
                      "line and cannot end with a comma)");
            break;
        }
        if ((rc = toml_lex_key(ps, &k)))
            break;
        if (ps->p >= ps->end || *ps->p != '=') {
            toml_keypath_free(&k);
            rc = fail(ps, ps->line, "expected '=' after a key, found %s",
                      toml_lex_char_text(what, sizeof(what), ps));
            break;
        }
        ps->p++;
        skip_ws(ps);
        if ((rc = parse_value(ps, &v))) {
            toml_keypath_free(&k);
            break;
        }
        rc = insert_kv(ps, t, &k, v);
        toml_keypath_free(&k);
        if (rc)
            break;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
        } else if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        } else {
            rc = ps->p >= ps->end || at_newline(ps)
                     ? fail(ps, ps->line, "unterminated inline table (an inline table must be "
                            "on one line)")
                     : fail(ps, ps->line, "expected ',' or '}' in an inline table, found %s",
                            toml_lex_char_text(what, sizeof(what), ps));
            break;
        }
    }
out:
    ps->depth--;
    if (rc) {
        toml_node_free(t);
        return rc;
    }
    *out = t;
    return TOML_OK;
}

static int parse_value(parser *ps, toml_node **out)
{
    char what[32];
    if (ps->p >= ps->end || at_newline(ps) || *ps->p == '#')
        return fail(ps, ps->line, "missing value");
    char c = *ps->p;
    if (c == '"' || c == '\'')
        return toml_lex_string(ps, out);
    if (c == '[')
        return parse_array(ps, out);
    if (c == '{')
        return parse_inline_table(ps, out);
    if ((at(ps, "true") && toml_lex_ends_token(ps, ps->p + 4)) ||
        (at(ps, "false") && toml_lex_ends_token(ps, ps->p + 5))) {
        toml_node *n = toml_node_new(TOML_BOOL, ps->line);
        if (!n)
            return oom(ps);
        n->num = c == 't';
        ps->p += c == 't' ? 4 : 5;
        *out = n;
        return TOML_OK;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || at(ps, "inf") || at(ps, "nan"))
        return toml_lex_number(ps, out);
    if (is_bare(c))
        return fail(ps, ps->line, "invalid value: strings must be quoted, booleans are true "
                    "or false");
    return fail(ps, ps->line, "expected a value, found %s",
                toml_lex_char_text(what, sizeof(what), ps));
}

static const char *how_text(int how)
{
    return how == T_DOTTED ? "with dotted keys" : how == T_INLINE ? "inline" : "by a header";
}

/* Sets k = v in |t|, creating the tables of a dotted key. Takes |v| in every case; takes the
 * last part of |k| on success. */
static int insert_kv(parser *ps, toml_node *t, keypath *k, toml_node *v)
{
    char name[256];
    v->line = k->line;
    for (size_t i = 0; i + 1 < k->n; i++) {
        toml_node *c = toml_table_get(t, k->part[i]);
        if (!c) {
            char *key = strdup(k->part[i]);
            c = key ? toml_node_new(TOML_TABLE, k->line) : NULL;
            if (!c) {
                free(key);
                toml_node_free(v);
                return oom(ps);
            }
            c->how = T_DOTTED;
            int rc = toml_node_add(ps, t, key, c);
            if (rc) {
                free(key);
                toml_node_free(c);
                toml_node_free(v);
                return rc;
            }
        } else if (c->type != TOML_TABLE || c->how != T_DOTTED) {
            toml_key_text(name, sizeof(name), k->part, i + 1);
            toml_node_free(v);
            if (c->type != TOML_TABLE)
                return fail(ps, k->line, "%s was set to %s at line %d, it is not a table", name,
                            toml_type_phrase(c->type), c->line);
            return fail(ps, k->line, "cannot add keys with a dotted key to table %s, defined %s "
                        "at line %d", name, how_text(c->how), c->line);
        }
        t = c;
    }
    toml_node *old = toml_table_get(t, k->part[k->n - 1]);
    if (old) {
        toml_key_text(name, sizeof(name), k->part, k->n);
        toml_node_free(v);
        return fail(ps, k->line, "duplicate key %s (first set at line %d)", name, old->line);
    }
    int rc = toml_node_add(ps, t, k->part[k->n - 1], v);
    if (rc) {
        toml_node_free(v);
        return rc;
    }
    k->part[--k->n] = NULL;
    return TOML_OK;
}

/* [a.b.c]: at the '['. */
static int parse_header(parser *ps)
{
    keypath k;
    char name[256], what[32];
    int line = ps->line, rc;
    ps->p++;
    if (ps->p < ps->end && *ps->p == '[')
        return fail(ps, line, "arrays of tables ([[...]]) are not supported");
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']')
        return fail(ps, line, "empty table header []");
    if ((rc = toml_lex_key(ps, &k)))
        return rc;
    if (ps->p >= ps->end || *ps->p != ']') {
        toml_keypath_free(&k);
        if (ps->p >= ps->end || at_newline(ps))
            return fail(ps, line, "unterminated table header (missing ']')");
        return fail(ps, line, "bad table header: expected '.' or ']', found %s",
                    toml_lex_char_text(what, sizeof(what), ps));
    }
    ps->p++;
    toml_node *t = ps->root;
    for (size_t i = 0; i < k.n && rc == TOML_OK; i++) {
        int last = i + 1 == k.n;
        toml_node *c = toml_table_get(t, k.part[i]);
        toml_key_text(name, sizeof(name), k.part, i + 1);
        if (!c) {
            char *key = strdup(k.part[i]);
            c = key ? toml_node_new(TOML_TABLE, line) : NULL;
            if (!c) {
                free(key);
                rc = oom(ps);
                break;
            }
            c->how = last ? T_HEADER : T_IMPLICIT;
            if ((rc = toml_node_add(ps, t, key, c))) {
                free(key);
                toml_node_free(c);
                break;
            }
        } else if (c->type != TOML_TABLE) {
            rc = fail(ps, line, "%s was set to %s at line %d, it is not a table", name,
                      toml_type_phrase(c->type), c->line);
        } else if (c->how == T_INLINE) {
            rc = fail(ps, line, "table %s was defined inline at line %d and cannot be extended",
                      name, c->line);
        } else if (last && c->how == T_IMPLICIT) {
            c->how = T_HEADER;
            c->line = line;
        } else if (last) {
            rc = c->how == T_HEADER
                     ? fail(ps, line, "duplicate table [%s] (first defined at line %d)", name,
                            c->line)
                     : fail(ps, line, "table [%s] was already defined with dotted keys at line "
                            "%d", name, c->line);
        }
        t = c;
    }
    toml_keypath_free(&k);
    if (rc == TOML_OK)
        ps->cur = t;
    return rc;
}

/* After a header or key/value pair: blanks, an optional comment, then a newline or the end. */
static int end_of_line(parser *ps, const char *after)
{
    char what[32];
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '#') {
        int rc = toml_lex_comment(ps);
        if (rc)
            return rc;
    }
    if (ps->p < ps->end && !at_newline(ps))
        return fail(ps, ps->line, "expected the end of the line after %s, found %s", after,
                    toml_lex_char_text(what, sizeof(what), ps));
    return TOML_OK;
}

static int parse_kv(parser *ps)
{
    keypath k;
    toml_node *v = NULL;
    char what[32];
    int rc = toml_lex_key(ps, &k);
    if (rc)
        return rc;
    if (ps->p >= ps->end || *ps->p != '=') {
        toml_keypath_free(&k);
        return fail(ps, ps->line, "expected '=' after a key, found %s",
                    toml_lex_char_text(what, sizeof(what), ps));
    }
    ps->p++;
    skip_ws(ps);
    rc = parse_value(ps, &v);
    if (rc == TOML_OK)
        rc = insert_kv(ps, ps->cur, &k, v);
    toml_keypath_free(&k);
    return rc;
}

static int parse_doc(parser *ps)
{
    while (ps->p < ps->end) {
        int rc;
        skip_ws(ps);
        if (ps->p >= ps->end)
            break;
        if (at_newline(ps)) {
            eat_newline(ps);
            continue;
        }
        if (*ps->p == '#') {
            rc = toml_lex_comment(ps);
        } else {
            int header = *ps->p == '[';
            rc = header ? parse_header(ps) : parse_kv(ps);
            if (rc == TOML_OK)
                rc = end_of_line(ps, header ? "a table header" : "a value");
        }
        if (rc)
            return rc;
    }
    return TOML_OK;
}

int toml_parse(toml_doc **out, const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = {.p = text, .end = text + len, .line = 1, .err = err, .errlen = errlen};
    toml_doc *doc = NULL;
    int rc, bad;
    if (errlen)
        err[0] = '\0';
    *out = NULL;
    if (!text && len)
        return toml_fail(&ps, TOML_ESYNTAX, 0, "no input");
    if (len > TOML_MAX_INPUT)
        return toml_fail(&ps, TOML_ETOOBIG, 0, "input over %d bytes", TOML_MAX_INPUT);
    if ((bad = toml_lex_utf8_bad_line((const unsigned char *)text, len)))
        return fail(&ps, bad, "invalid UTF-8");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    doc = calloc(1, sizeof(*doc));
    if (!doc || !(doc->root = toml_node_new(TOML_TABLE, 0))) {
        free(doc);
        return oom(&ps);
    }
    doc->root->how = T_HEADER;
    ps.root = ps.cur = doc->root;
    rc = parse_doc(&ps);
    if (rc) {
        toml_free(doc);
        return rc;
    }
    *out = doc;
    return TOML_OK;
}
