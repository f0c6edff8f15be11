/*
 * toml_lex: the tokens of a TOML document: blanks and comments, keys (bare, quoted, dotted),
 * the four kinds of strings with their escapes, integers (decimal, hex, octal, binary, with
 * underscores; floats and dates refused by name), and the UTF-8 check of the whole input. No
 * string's contents ever reach an error message. See toml_int.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/toml_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
            toml_wipe(b->d, b->len);
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
        toml_wipe(b->d, b->len);
        free(b->d);
    }
    b->d = NULL;
    b->len = b->cap = 0;
}

void toml_keypath_free(keypath *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->part[i]);
    k->n = 0;
}

/* Writes parts [0, n) as a dotted key for messages, quoting parts that are not bare. */
const char *toml_key_text(char *buf, size_t size, char *const *part, size_t n)
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

/* Describes the character at p for "found ..." messages. */
const char *toml_lex_char_text(char *buf, size_t size, const parser *ps)
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

int toml_lex_comment(parser *ps)
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
int toml_lex_blank(parser *ps)
{
    for (;;) {
        skip_ws(ps);
        if (at_newline(ps)) {
            eat_newline(ps);
        } else if (ps->p < ps->end && *ps->p == '#') {
            int rc = toml_lex_comment(ps);
            if (rc)
                return rc;
        } else {
            return TOML_OK;
        }
    }
}

/* Returns the line of the first invalid UTF-8 sequence, or 0 when |s| is valid. */
int toml_lex_utf8_bad_line(const unsigned char *s, size_t len)
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
        return fail(ps, ps->line, "expected a key, found %s",
                    toml_lex_char_text(what, sizeof(what), ps));
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
int toml_lex_key(parser *ps, keypath *k)
{
    k->n = 0;
    k->line = ps->line;
    for (;;) {
        if (k->n == MAX_KEY_PARTS) {
            toml_keypath_free(k);
            return fail(ps, ps->line, "key with more than %d dotted parts", MAX_KEY_PARTS);
        }
        int rc = parse_simple_key(ps, &k->part[k->n]);
        if (rc) {
            toml_keypath_free(k);
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

int toml_lex_string(parser *ps, toml_node **out)
{
    sbuf b = {0};
    int rc, line = ps->line;
    if (*ps->p == '"')
        rc = parse_basic(ps, &b, at(ps, "\"\"\""));
    else
        rc = parse_literal(ps, &b, at(ps, "'''"));
    if (rc == TOML_OK && !b.d)
        rc = sb_put(ps, &b, "", 0);
    toml_node *n = rc ? NULL : toml_node_new(TOML_STRING, line);
    if (!n) {
        sb_free(&b);
        return rc ? rc : oom(ps);
    }
    n->str = b.d;
    n->len = b.len;
    *out = n;
    return TOML_OK;
}

int toml_lex_ends_token(const parser *ps, const char *q)
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
int toml_lex_number(parser *ps, toml_node **out)
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
    toml_node *node = toml_node_new(TOML_INT, ps->line);
    if (!node)
        return oom(ps);
    node->num = v;
    *out = node;
    return TOML_OK;
}
