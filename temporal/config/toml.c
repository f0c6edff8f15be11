/*
 * toml: recursive descent over the whole input, one pass, building a tree of nodes. Tables
 * remember how they came to be (a header, a parent of a header, dotted keys, an inline
 * table), which is all TOML needs to refuse redefinitions. No value is ever echoed in an
 * error message. See toml.h for the subset and the bounds.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/toml.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_PARTS 16

/* How a table was created; decides what may still be added to it. */
enum { T_IMPLICIT, T_HEADER, T_DOTTED, T_INLINE };

struct toml_node {
    toml_type type;
    int line;
    int how;          /* tables: T_* */
    char *str;        /* strings */
    size_t len;
    long long num;    /* integers and booleans */
    char **keys;      /* tables: one key per kid */
    toml_node **kids; /* tables and arrays */
    size_t n, cap;
};

struct toml_doc {
    toml_node *root;
};

typedef struct parser {
    const char *p, *end;
    int line;
    int depth;
    toml_node *root, *cur; /* cur: the table the last header opened */
    char *err;
    size_t errlen;
} parser;

typedef struct sbuf {
    char *d;
    size_t len, cap;
} sbuf;

typedef struct keypath {
    char *part[MAX_KEY_PARTS];
    size_t n;
    int line;
} keypath;

/* ------------------------------------------------------------------------------------------ */
/* Errors, memory                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int fail_code(parser *ps, int code, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_code(parser *ps, int code, int line, const char *fmt, ...)
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

#define fail(ps, line, ...) fail_code((ps), TOML_ESYNTAX, (line), __VA_ARGS__)
#define oom(ps) fail_code((ps), TOML_ENOMEM, 0, "out of memory")

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void node_free(toml_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->kids[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    if (n->str) {
        wipe(n->str, n->len);
        free(n->str);
    }
    free(n);
}

static toml_node *node_new(toml_type type, int line)
{
    toml_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->type = type;
        n->line = line;
    }
    return n;
}

/* Appends |v| (and |key| for tables); both belong to |t| on success only. */
static int node_add(parser *ps, toml_node *t, char *key, toml_node *v)
{
    if (t->n == TOML_MAX_ENTRIES)
        return fail_code(ps, TOML_ETOOBIG, v->line, "more than %d entries in one table or array",
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

static toml_node *table_get(const toml_node *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0)
            return t->kids[i];
    return NULL;
}

/* Grows by copying so that no stray copy of a (possibly secret) string is left in freed
 * memory. */
static int sb_put(parser *ps, sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = malloc(cap);
        if (!d)
            return oom(ps);
        if (b->d) {
            memcpy(d, b->d, b->len);
            wipe(b->d, b->len);
            free(b->d);
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
    return TOML_OK;
}

static void sb_free(sbuf *b)
{
    if (b->d) {
        wipe(b->d, b->len);
        free(b->d);
    }
    b->d = NULL;
    b->len = b->cap = 0;
}

static void keypath_free(keypath *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->part[i]);
    k->n = 0;
}

/* Writes parts [0, n) as a dotted key for messages, quoting parts that are not bare. */
static const char *key_text(char *buf, size_t size, char *const *part, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        const char *s = part[i];
        int bare = *s != '\0';
        for (const char *c = s; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
                bare = 0;
        if (i)
            buf[o++] = '.';
        if (!bare && o + 1 < size)
            buf[o++] = '"';
        for (const char *c = s; *c && o + 1 < size; c++)
            buf[o++] = (unsigned char)*c < 0x20 || *c == '"' ? '?' : *c;
        if (!bare && o + 1 < size)
            buf[o++] = '"';
        buf[o] = '\0';
    }
    return buf;
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

/* ------------------------------------------------------------------------------------------ */
/* Characters                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int is_bare(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static int is_ctrl(char c)
{
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

static int at(const parser *ps, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static int at_newline(const parser *ps)
{
    return ps->p < ps->end && (*ps->p == '\n' || at(ps, "\r\n"));
}

static void eat_newline(parser *ps)
{
    ps->p += *ps->p == '\r' ? 2 : 1;
    ps->line++;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* Describes the character at p for "found ..." messages. */
static const char *char_text(char *buf, size_t size, const parser *ps)
{
    if (ps->p >= ps->end)
        snprintf(buf, size, "the end of the file");
    else if (at_newline(ps))
        snprintf(buf, size, "the end of the line");
    else if (*ps->p > 0x20 && *ps->p < 0x7f)
        snprintf(buf, size, "'%c'", *ps->p);
    else
        snprintf(buf, size, "byte 0x%02X", (unsigned char)*ps->p);
    return buf;
}

static int skip_comment(parser *ps)
{
    ps->p++; /* '#' */
    while (ps->p < ps->end && !at_newline(ps)) {
        if (is_ctrl(*ps->p))
            return fail(ps, ps->line, "control character 0x%02X in a comment",
                        (unsigned char)*ps->p);
        ps->p++;
    }
    return TOML_OK;
}

/* Spaces, tabs, newlines and comments (inside arrays). */
static int skip_blank(parser *ps)
{
    for (;;) {
        skip_ws(ps);
        if (at_newline(ps)) {
            eat_newline(ps);
        } else if (ps->p < ps->end && *ps->p == '#') {
            int rc = skip_comment(ps);
            if (rc)
                return rc;
        } else {
            return TOML_OK;
        }
    }
}

/* Returns the line of the first invalid UTF-8 sequence, or 0 when |s| is valid. */
static int utf8_bad_line(const unsigned char *s, size_t len)
{
    int line = 1;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c == '\n')
            line++;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return line;
        if (len - i <= n)
            return line;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return line;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return line;
        i += n + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Strings                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int put_utf8(parser *ps, sbuf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return sb_put(ps, b, u, n);
}

/* At a backslash inside a basic string. */
static int parse_escape(parser *ps, sbuf *b)
{
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    if (ps->end - ps->p < 2)
        return fail(ps, ps->line, "unterminated string");
    char c = ps->p[1];
    ps->p += 2;
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit)
        return sb_put(ps, b, &to[hit - from], 1);
    if (c != 'u' && c != 'U') {
        if (c > 0x20 && c < 0x7f)
            return fail(ps, ps->line, "invalid escape \\%c in a string (valid: \\b \\t \\n \\f "
                        "\\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)", c);
        return fail(ps, ps->line, "invalid escape in a string: a backslash must be followed by "
                    "one of b t n f r \" \\ u U");
    }
    int digits = c == 'u' ? 4 : 8;
    unsigned long cp = 0;
    for (int i = 0; i < digits; i++, ps->p++) {
        char h = ps->p < ps->end ? *ps->p : '\0';
        int v = h >= '0' && h <= '9' ? h - '0'
              : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (v < 0)
            return fail(ps, ps->line, "invalid escape \\%c: expected %d hex digits", c, digits);
        cp = cp * 16 + (unsigned long)v;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(ps, ps->line, "invalid escape \\%c%0*lX: not a Unicode scalar value", c,
                    digits, cp);
    if (cp == 0)
        return fail(ps, ps->line, "\\%c escape of U+0000 (NUL) is not supported", c);
    return put_utf8(ps, b, cp);
}

/* At the closing run of quotes of a multi-line string (|q| is ' or "): 3 to 5 of them, the
 * ones beyond 3 being content. */
static int close_multiline(parser *ps, sbuf *b, char q)
{
    size_t n = 0;
    while (ps->p + n < ps->end && ps->p[n] == q)
        n++;
    if (n > 5)
        return fail(ps, ps->line, "too many quotes (%zu) at the end of a multi-line string", n);
    ps->p += n;
    return sb_put(ps, b, ps->p - n, n - 3);
}

/* A newline inside a multi-line string: LF or CRLF, stored as LF. */
static int multiline_newline(parser *ps, sbuf *b)
{
    if (!at_newline(ps))
        return fail(ps, ps->line, "carriage return without a line feed in a string");
    eat_newline(ps);
    return sb_put(ps, b, "\n", 1);
}

/* Basic ("...") or multi-line basic ("""...""") string; at the opening quote. */
static int parse_basic(parser *ps, sbuf *b, int multi)
{
    int start = ps->line, rc = TOML_OK;
    ps->p += multi ? 3 : 1;
    if (multi && at_newline(ps))
        eat_newline(ps);
    while (rc == TOML_OK) {
        if (ps->p >= ps->end || (!multi && (*ps->p == '\n' || *ps->p == '\r')))
            return fail(ps, start, multi ? "unterminated multi-line string (opened with \"\"\")"
                                         : "unterminated string (a \"...\" string ends on its "
                                           "line; use \"\"\" for several lines)");
        char c = *ps->p;
        if (c == '"' && (!multi || at(ps, "\"\"\""))) {
            if (!multi) {
                ps->p++;
                return TOML_OK;
            }
            return close_multiline(ps, b, '"');
        }
        if (c == '\\' && multi) {
            const char *s = ps->p + 1; /* a line-ending backslash eats blanks and newlines */
            while (s < ps->end && (*s == ' ' || *s == '\t'))
                s++;
            if (s < ps->end && (*s == '\n' || (*s == '\r' && s + 1 < ps->end && s[1] == '\n'))) {
                ps->p = s;
                while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || at_newline(ps))) {
                    if (at_newline(ps))
                        eat_newline(ps);
                    else
                        ps->p++;
                }
                continue;
            }
        }
        if (c == '\\')
            rc = parse_escape(ps, b);
        else if (multi && (c == '\n' || c == '\r'))
            rc = multiline_newline(ps, b);
        else if (is_ctrl(c))
            return fail(ps, ps->line, "control character 0x%02X in a string; escape it",
                        (unsigned char)c);
        else
            rc = sb_put(ps, b, ps->p++, 1);
    }
    return rc;
}

/* Literal ('...') or multi-line literal ('''...''') string; at the opening quote. */
static int parse_literal(parser *ps, sbuf *b, int multi)
{
    int start = ps->line, rc = TOML_OK;
    ps->p += multi ? 3 : 1;
    if (multi && at_newline(ps))
        eat_newline(ps);
    while (rc == TOML_OK) {
        if (ps->p >= ps->end || (!multi && (*ps->p == '\n' || *ps->p == '\r')))
            return fail(ps, start, multi ? "unterminated multi-line literal string (opened "
                                           "with ''')"
                                         : "unterminated literal string (a '...' string ends "
                                           "on its line; use ''' for several lines)");
        char c = *ps->p;
        if (c == '\'' && (!multi || at(ps, "'''"))) {
            if (!multi) {
                ps->p++;
                return TOML_OK;
            }
            return close_multiline(ps, b, '\'');
        }
        if (multi && (c == '\n' || c == '\r'))
            rc = multiline_newline(ps, b);
        else if (is_ctrl(c))
            return fail(ps, ps->line, "control character 0x%02X in a literal string",
                        (unsigned char)c);
        else
            rc = sb_put(ps, b, ps->p++, 1);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Keys                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static int parse_simple_key(parser *ps, char **out)
{
    sbuf b = {0};
    int rc;
    char what[32];
    if (ps->p < ps->end && *ps->p == '"') {
        if (at(ps, "\"\"\""))
            return fail(ps, ps->line, "a key cannot be a multi-line string");
        rc = parse_basic(ps, &b, 0);
    } else if (ps->p < ps->end && *ps->p == '\'') {
        if (at(ps, "'''"))
            return fail(ps, ps->line, "a key cannot be a multi-line string");
        rc = parse_literal(ps, &b, 0);
    } else if (ps->p < ps->end && is_bare(*ps->p)) {
        const char *s = ps->p;
        while (ps->p < ps->end && is_bare(*ps->p))
            ps->p++;
        rc = sb_put(ps, &b, s, (size_t)(ps->p - s));
    } else {
        return fail(ps, ps->line, "expected a key, found %s", char_text(what, sizeof(what), ps));
    }
    if (rc == TOML_OK && !b.d)
        rc = sb_put(ps, &b, "", 0);
    if (rc) {
        sb_free(&b);
        return rc;
    }
    *out = b.d;
    return TOML_OK;
}

/* key ( '.' key )*, blanks allowed around the dots; leaves p after trailing blanks. */
static int parse_key(parser *ps, keypath *k)
{
    k->n = 0;
    k->line = ps->line;
    for (;;) {
        if (k->n == MAX_KEY_PARTS) {
            keypath_free(k);
            return fail(ps, ps->line, "key with more than %d dotted parts", MAX_KEY_PARTS);
        }
        int rc = parse_simple_key(ps, &k->part[k->n]);
        if (rc) {
            keypath_free(k);
            return rc;
        }
        k->n++;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '.')
            return TOML_OK;
        ps->p++;
        skip_ws(ps);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int parse_value(parser *ps, toml_node **out);
static int insert_kv(parser *ps, toml_node *t, keypath *k, toml_node *v);

static int parse_string(parser *ps, toml_node **out)
{
    sbuf b = {0};
    int rc, line = ps->line;
    if (*ps->p == '"')
        rc = parse_basic(ps, &b, at(ps, "\"\"\""));
    else
        rc = parse_literal(ps, &b, at(ps, "'''"));
    if (rc == TOML_OK && !b.d)
        rc = sb_put(ps, &b, "", 0);
    toml_node *n = rc ? NULL : node_new(TOML_STRING, line);
    if (!n) {
        sb_free(&b);
        return rc ? rc : oom(ps);
    }
    n->str = b.d;
    n->len = b.len;
    *out = n;
    return TOML_OK;
}

static int ends_token(const parser *ps, const char *q)
{
    return q >= ps->end || strchr(" \t\r\n#,]}", *q) != NULL;
}

/* Digits of |base| with single underscores between digits; |s| to |e|. */
static int parse_digits(const char *s, const char *e, int base, int negative, long long *out)
{
    unsigned long long v = 0, limit = negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    int prev_digit = 0;
    if (s == e)
        return -1;
    for (const char *c = s; c < e; c++) {
        if (*c == '_') {
            if (!prev_digit || c + 1 == e)
                return -1;
            prev_digit = 0;
            continue;
        }
        int d = *c >= '0' && *c <= '9' ? *c - '0'
              : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
              : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10 : 99;
        if (d >= base)
            return -1;
        if (v > (limit - (unsigned long long)d) / (unsigned long long)base)
            return -2;
        v = v * (unsigned long long)base + (unsigned long long)d;
        prev_digit = 1;
    }
    if (negative)
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 0;
}

/* [0-9_]+ ( '.' [0-9_]+ )? ( [eE] [+-]? [0-9_]+ )? with a '.' or an exponent: the shape of a
 * TOML float (underscore placement is not checked: it is refused anyway). */
static int looks_float(const char *s, const char *e)
{
    int frac = 0, exp = 0;
    const char *c = s;
    while (c < e && ((*c >= '0' && *c <= '9') || *c == '_'))
        c++;
    if (c == s)
        return 0;
    if (c < e && *c == '.') {
        const char *f = ++c;
        while (c < e && ((*c >= '0' && *c <= '9') || *c == '_'))
            c++;
        if (c == f)
            return 0;
        frac = 1;
    }
    if (c < e && (*c == 'e' || *c == 'E')) {
        c++;
        if (c < e && (*c == '+' || *c == '-'))
            c++;
        const char *x = c;
        while (c < e && ((*c >= '0' && *c <= '9') || *c == '_'))
            c++;
        if (c == x)
            return 0;
        exp = 1;
    }
    return c == e && (frac || exp);
}

/* Integers; floats and dates are recognised only to be refused clearly. */
static int parse_number(parser *ps, toml_node **out)
{
    const char *s = ps->p, *e = ps->p;
    while (e < ps->end && (is_bare(*e) || *e == '+' || *e == '.' || *e == ':'))
        e++;
    ps->p = e;
    const char *d = s + (*s == '+' || *s == '-');
    int negative = *s == '-', base = 10, rc;
    size_t n = (size_t)(e - d);
    long long v = 0;
    if (n >= 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b')) {
        if (d != s)
            return fail(ps, ps->line, "a sign is not allowed on a 0x, 0o or 0b integer");
        base = d[1] == 'x' ? 16 : d[1] == 'o' ? 8 : 2;
        d += 2;
    } else if (n >= 5 && d[0] >= '0' && d[0] <= '9' && d[4] == '-') {
        return fail(ps, ps->line, "dates and times are not supported; quote the value");
    } else if (memchr(d, ':', n)) {
        return fail(ps, ps->line, "dates and times are not supported; quote the value");
    } else if (looks_float(d, e) ||
               (n == 3 && (!memcmp(d, "inf", 3) || !memcmp(d, "nan", 3)))) {
        return fail(ps, ps->line, "floating-point numbers are not supported");
    } else if (n >= 2 && d[0] == '0') {
        return fail(ps, ps->line, "leading zeros are not allowed in an integer");
    }
    rc = parse_digits(d, e, base, negative, &v);
    if (rc == -2)
        return fail(ps, ps->line, "integer out of range (64-bit signed)");
    if (rc)
        return fail(ps, ps->line, "invalid value: not a valid integer, and strings must be "
                    "quoted");
    toml_node *node = node_new(TOML_INT, ps->line);
    if (!node)
        return oom(ps);
    node->num = v;
    *out = node;
    return TOML_OK;
}

static int enter(parser *ps)
{
    if (ps->depth == TOML_MAX_DEPTH)
        return fail_code(ps, TOML_ETOOBIG, ps->line, "arrays and inline tables nested deeper "
                         "than %d", TOML_MAX_DEPTH);
    ps->depth++;
    return TOML_OK;
}

static int parse_array(parser *ps, toml_node **out)
{
    int start = ps->line, rc = enter(ps);
    toml_node *a = rc ? NULL : node_new(TOML_ARRAY, ps->line);
    char what[32];
    if (!a) {
        if (!rc)
            ps->depth--;
        return rc ? rc : oom(ps);
    }
    ps->p++; /* '[' */
    for (;;) {
        toml_node *v = NULL;
        if ((rc = skip_blank(ps)))
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
        if ((rc = node_add(ps, a, NULL, v))) {
            node_free(v);
            break;
        }
        if ((rc = skip_blank(ps)))
            break;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
        } else if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        } else {
            rc = ps->p >= ps->end ? fail(ps, start, "unterminated array")
                                  : fail(ps, ps->line, "expected ',' or ']' in an array, found %s",
                                         char_text(what, sizeof(what), ps));
            break;
        }
    }
    ps->depth--;
    if (rc) {
        node_free(a);
        return rc;
    }
    *out = a;
    return TOML_OK;
}

/* { key = value, ... } on one line (TOML 1.0: no newline, no trailing comma). */
static int parse_inline_table(parser *ps, toml_node **out)
{
    int rc = enter(ps);
    toml_node *t = rc ? NULL : node_new(TOML_TABLE, ps->line);
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
        if ((rc = parse_key(ps, &k)))
            break;
        if (ps->p >= ps->end || *ps->p != '=') {
            keypath_free(&k);
            rc = fail(ps, ps->line, "expected '=' after a key, found %s",
                      char_text(what, sizeof(what), ps));
            break;
        }
        ps->p++;
        skip_ws(ps);
        if ((rc = parse_value(ps, &v))) {
            keypath_free(&k);
            break;
        }
        rc = insert_kv(ps, t, &k, v);
        keypath_free(&k);
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
                            char_text(what, sizeof(what), ps));
            break;
        }
    }
out:
    ps->depth--;
    if (rc) {
        node_free(t);
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
        return parse_string(ps, out);
    if (c == '[')
        return parse_array(ps, out);
    if (c == '{')
        return parse_inline_table(ps, out);
    if ((at(ps, "true") && ends_token(ps, ps->p + 4)) ||
        (at(ps, "false") && ends_token(ps, ps->p + 5))) {
        toml_node *n = node_new(TOML_BOOL, ps->line);
        if (!n)
            return oom(ps);
        n->num = c == 't';
        ps->p += c == 't' ? 4 : 5;
        *out = n;
        return TOML_OK;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || at(ps, "inf") || at(ps, "nan"))
        return parse_number(ps, out);
    if (is_bare(c))
        return fail(ps, ps->line, "invalid value: strings must be quoted, booleans are true "
                    "or false");
    return fail(ps, ps->line, "expected a value, found %s", char_text(what, sizeof(what), ps));
}

/* ------------------------------------------------------------------------------------------ */
/* Tables                                                                                      */
/* ------------------------------------------------------------------------------------------ */

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
        toml_node *c = table_get(t, k->part[i]);
        if (!c) {
            char *key = strdup(k->part[i]);
            c = key ? node_new(TOML_TABLE, k->line) : NULL;
            if (!c) {
                free(key);
                node_free(v);
                return oom(ps);
            }
            c->how = T_DOTTED;
            int rc = node_add(ps, t, key, c);
            if (rc) {
                free(key);
                node_free(c);
                node_free(v);
                return rc;
            }
        } else if (c->type != TOML_TABLE || c->how != T_DOTTED) {
            key_text(name, sizeof(name), k->part, i + 1);
            node_free(v);
            if (c->type != TOML_TABLE)
                return fail(ps, k->line, "%s was set to %s at line %d, it is not a table", name,
                            toml_type_phrase(c->type), c->line);
            return fail(ps, k->line, "cannot add keys with a dotted key to table %s, defined %s "
                        "at line %d", name, how_text(c->how), c->line);
        }
        t = c;
    }
    toml_node *old = table_get(t, k->part[k->n - 1]);
    if (old) {
        key_text(name, sizeof(name), k->part, k->n);
        node_free(v);
        return fail(ps, k->line, "duplicate key %s (first set at line %d)", name, old->line);
    }
    int rc = node_add(ps, t, k->part[k->n - 1], v);
    if (rc) {
        node_free(v);
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
    if ((rc = parse_key(ps, &k)))
        return rc;
    if (ps->p >= ps->end || *ps->p != ']') {
        keypath_free(&k);
        if (ps->p >= ps->end || at_newline(ps))
            return fail(ps, line, "unterminated table header (missing ']')");
        return fail(ps, line, "bad table header: expected '.' or ']', found %s",
                    char_text(what, sizeof(what), ps));
    }
    ps->p++;
    toml_node *t = ps->root;
    for (size_t i = 0; i < k.n && rc == TOML_OK; i++) {
        int last = i + 1 == k.n;
        toml_node *c = table_get(t, k.part[i]);
        key_text(name, sizeof(name), k.part, i + 1);
        if (!c) {
            char *key = strdup(k.part[i]);
            c = key ? node_new(TOML_TABLE, line) : NULL;
            if (!c) {
                free(key);
                rc = oom(ps);
                break;
            }
            c->how = last ? T_HEADER : T_IMPLICIT;
            if ((rc = node_add(ps, t, key, c))) {
                free(key);
                node_free(c);
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
    keypath_free(&k);
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
        int rc = skip_comment(ps);
        if (rc)
            return rc;
    }
    if (ps->p < ps->end && !at_newline(ps))
        return fail(ps, ps->line, "expected the end of the line after %s, found %s", after,
                    char_text(what, sizeof(what), ps));
    return TOML_OK;
}

static int parse_kv(parser *ps)
{
    keypath k;
    toml_node *v = NULL;
    char what[32];
    int rc = parse_key(ps, &k);
    if (rc)
        return rc;
    if (ps->p >= ps->end || *ps->p != '=') {
        keypath_free(&k);
        return fail(ps, ps->line, "expected '=' after a key, found %s",
                    char_text(what, sizeof(what), ps));
    }
    ps->p++;
    skip_ws(ps);
    rc = parse_value(ps, &v);
    if (rc == TOML_OK)
        rc = insert_kv(ps, ps->cur, &k, v);
    keypath_free(&k);
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
            rc = skip_comment(ps);
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

/* ------------------------------------------------------------------------------------------ */
/* Public                                                                                      */
/* ------------------------------------------------------------------------------------------ */

int toml_parse(toml_doc **out, const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = {.p = text, .end = text + len, .line = 1, .err = err, .errlen = errlen};
    toml_doc *doc = NULL;
    int rc, bad;
    if (errlen)
        err[0] = '\0';
    *out = NULL;
    if (!text && len)
        return fail_code(&ps, TOML_ESYNTAX, 0, "no input");
    if (len > TOML_MAX_INPUT)
        return fail_code(&ps, TOML_ETOOBIG, 0, "input over %d bytes", TOML_MAX_INPUT);
    if ((bad = utf8_bad_line((const unsigned char *)text, len)))
        return fail(&ps, bad, "invalid UTF-8");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    doc = calloc(1, sizeof(*doc));
    if (!doc || !(doc->root = node_new(TOML_TABLE, 0))) {
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

void toml_free(toml_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
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
    return table && table->type == TOML_TABLE && key ? table_get(table, key) : NULL;
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
