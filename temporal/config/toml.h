/*
 * toml: a strict, bounded parser for the subset of TOML 1.0 that Temporal's client config
 * files (envconfig profiles) use. It reads a whole document into a read-only tree.
 *
 * Supported: comments; bare, "basic" and 'literal' keys; dotted keys; table headers
 * ([a.b."c d"]); basic strings with the TOML escapes (\b \t \n \f \r \" \\ \uXXXX
 * \UXXXXXXXX); literal strings; multi-line basic (""") and literal (''') strings; booleans;
 * integers (decimal, 0x, 0o, 0b, with _ separators); arrays; single-line inline tables.
 * Rejected with a message that says so: floats, dates and times, arrays of tables ([[x]]),
 * U+0000 in strings. The input must be valid UTF-8 (a leading BOM is skipped); LF or CRLF.
 * Duplicate keys and tables, and the other redefinitions TOML forbids, are errors.
 *
 * Bounds: at most TOML_MAX_INPUT bytes, TOML_MAX_DEPTH nested arrays/inline tables, and
 * TOML_MAX_ENTRIES entries in one table or array, so lookups stay cheap.
 *
 * Errors: toml_parse() returns 0 or a negative TOML_E* code and writes "line N: what is wrong"
 * to |err|. Messages name keys and characters but never echo a string's contents (values may
 * be secrets).
 * Ownership: the document owns every node and string; pointers handed out stay valid until
 * toml_free(), which wipes string memory before releasing it. toml_free(NULL) is a no-op.
 * Threading: a document is immutable after parsing and may be read from any thread.
 *
 * Files: toml.c (the document's structure), toml_lex.c (tokens), toml_tree.c (the tree and
 * these read functions), toml_int.h (what they share).
 */
#ifndef TW_TOML_H
#define TW_TOML_H

#include <stddef.h>

#define TOML_MAX_INPUT (1024 * 1024)
#define TOML_MAX_DEPTH 16
#define TOML_MAX_ENTRIES 4096

enum {
    TOML_OK = 0,
    TOML_ENOMEM = -1,  /* out of memory */
    TOML_ESYNTAX = -2, /* not TOML, or TOML this parser refuses */
    TOML_ETOOBIG = -3, /* over one of the bounds above */
};

typedef enum toml_type {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_BOOL,
    TOML_INT,
} toml_type;

typedef struct toml_doc toml_doc;
typedef struct toml_node toml_node;

/* Parses |len| bytes of |text| (need not be NUL-terminated). On failure *out is NULL. */
int toml_parse(toml_doc **out, const char *text, size_t len, char *err, size_t errlen);
void toml_free(toml_doc *doc);
const char *toml_strerror(int code);

/* The root table. */
const toml_node *toml_root(const toml_doc *doc);

toml_type toml_node_type(const toml_node *n);
/* "table", "array", "string", "boolean", "integer". */
const char *toml_type_name(toml_type t);
/* The type with its article, for messages: "a string", "an integer", ... */
const char *toml_type_phrase(toml_type t);
/* The line where the node's key was written (or its table header); 0 for the root. */
int toml_node_line(const toml_node *n);

/* Entries of a table or elements of an array, in document order; 0 for scalars. */
size_t toml_count(const toml_node *n);
const toml_node *toml_child(const toml_node *n, size_t i);
/* The key of entry |i| of a table; NULL for arrays. */
const char *toml_key(const toml_node *table, size_t i);
/* The value at |key| (exact match) in |table|, or NULL. */
const toml_node *toml_find(const toml_node *table, const char *key);

/* Scalar values; each returns a zero value when |n| has another type. A string has no NUL
 * inside; |len| (optional) receives its length. */
const char *toml_string(const toml_node *n, size_t *len);
int toml_bool(const toml_node *n);
long long toml_int(const toml_node *n);

#endif
