/*
 * toml_int: what the TOML reader's three files share. toml.c parses the document's structure
 * (tables, headers, dotted keys, arrays, inline tables, the redefinitions TOML forbids);
 * toml_lex.c reads its tokens (blanks and comments, keys, strings with their escapes,
 * integers, and UTF-8 validation); toml_tree.c keeps the node tree and answers lookups
 * (toml.h's read functions). Nothing outside temporal/config/toml*.c includes this.
 *
 * Errors: every function that can fail returns TOML_OK or a TOML_E* code after writing the
 * message through toml_fail (so the first failure's message is the one kept). Ownership:
 * nodes belong to their parent once toml_node_add succeeds; strings read by the lexer are
 * malloc'd and wiped before they are freed (they may be secrets).
 */
#ifndef TW_TOML_INT_H
#define TW_TOML_INT_H

#include <stddef.h>
#include <string.h>

#include "temporal/config/toml.h"

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

/* ---- toml_tree.c ---- */

/* Writes "line N: " (when |line| > 0) and the message to the parser's error buffer; returns
 * |code|. */
int toml_fail(parser *ps, int code, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define fail(ps, line, ...) toml_fail((ps), TOML_ESYNTAX, (line), __VA_ARGS__)
#define oom(ps) toml_fail((ps), TOML_ENOMEM, 0, "out of memory")
/* Zeroes |n| bytes in a way the compiler keeps. */
void toml_wipe(void *p, size_t n);
toml_node *toml_node_new(toml_type type, int line);
/* Frees |n| and everything under it, wiping strings; NULL is a no-op. */
void toml_node_free(toml_node *n);
/* Appends |v| (and |key| for tables); both belong to |t| on success only. */
int toml_node_add(parser *ps, toml_node *t, char *key, toml_node *v);
/* The value at |key| in table |t|, or NULL. */
toml_node *toml_table_get(const toml_node *t, const char *key);

/* ---- toml_lex.c ---- */

/* Returns the line of the first invalid UTF-8 sequence, or 0 when |s| is valid. */
int toml_lex_utf8_bad_line(const unsigned char *s, size_t len);
/* Describes the character at p for "found ..." messages. */
const char *toml_lex_char_text(char *buf, size_t size, const parser *ps);
/* At a '#': skips the comment up to the newline. */
int toml_lex_comment(parser *ps);
/* Spaces, tabs, newlines and comments (inside arrays). */
int toml_lex_blank(parser *ps);
/* key ( '.' key )*, blanks allowed around the dots; leaves p after trailing blanks. On
 * failure |k| is empty. */
int toml_lex_key(parser *ps, keypath *k);
void toml_keypath_free(keypath *k);
/* Writes parts [0, n) as a dotted key for messages, quoting parts that are not bare. */
const char *toml_key_text(char *buf, size_t size, char *const *part, size_t n);
/* A string value of any of the four kinds; at its opening quote. */
int toml_lex_string(parser *ps, toml_node **out);
/* An integer value; floats and dates are recognised only to be refused clearly. */
int toml_lex_number(parser *ps, toml_node **out);
/* Does the token end at |q| (a blank, a comment, a separator, the end)? */
int toml_lex_ends_token(const parser *ps, const char *q);

/* ---- character helpers (inline: both lexer and parser use them) ---- */

static inline int is_bare(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static inline int is_ctrl(char c)
{
    unsigned char u = (unsigned char)c;
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

static inline int at(const parser *ps, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static inline int at_newline(const parser *ps)
{
    return ps->p < ps->end && (*ps->p == '\n' || at(ps, "\r\n"));
}

static inline void eat_newline(parser *ps)
{
    ps->p += *ps->p == '\r' ? 2 : 1;
    ps->line++;
}

static inline void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

#endif
