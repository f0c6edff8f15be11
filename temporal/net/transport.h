/*
 * transport: a byte stream to the Temporal frontend, plain TCP or TLS (mbedTLS), non-blocking,
 * behind one small vtable so the HTTP/2 layer does not care which. Connecting and the TLS
 * handshake are steps driven by the event loop; nothing here blocks.
 *
 * TLS: ALPN "h2", SNI, the server verified against the configured CA or the system bundle
 * (Debian's or Amazon Linux's path), optional client certificate (mTLS), server-name override,
 * and an opt-out of the host-name check only (the chain is still verified).
 *
 * Errors: functions return TP_OK, TP_AGAIN (poll for tp_wants() and call again) or TP_ERR with
 * the reason in the connection's error text. Threading: one thread per connection.
 */
#ifndef TW_TRANSPORT_H
#define TW_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

enum { TP_OK = 0, TP_AGAIN = 1, TP_ERR = -1, TP_EOF = -2 };

typedef struct tp_tls_config {
    const char *ca_pem;          /* PEM bytes; NULL: the system bundle */
    size_t ca_len;
    const char *cert_pem;        /* client certificate (mTLS), or NULL */
    size_t cert_len;
    const char *key_pem;
    size_t key_len;
    const char *server_name;     /* SNI and the name verified; NULL: the host */
    int skip_host_verification;  /* accept a certificate for another name */
} tp_tls_config;

/* Shared TLS state (CA chain, client key, RNG): built once, used by every connection. */
typedef struct tp_tls tp_tls;
int tp_tls_new(tp_tls **out, const tp_tls_config *cfg, char *err, size_t errlen);
void tp_tls_free(tp_tls *t);

typedef struct tp_conn tp_conn;

/* Starts connecting to |host|:|port|; |tls| NULL means plaintext. Poll tp_fd() for tp_wants()
 * and call tp_handshake() until it returns TP_OK. Resolving the name takes at most
 * |resolve_ms| (a slow DNS must not hold the caller, the network thread, past its calls'
 * deadlines); the lookup goes on in a thread of its own and is dropped when late. */
int tp_connect(tp_conn **out, const char *host, int port, tp_tls *tls, int resolve_ms, char *err,
               size_t errlen);
int tp_handshake(tp_conn *c);
int tp_fd(const tp_conn *c);
short tp_wants(const tp_conn *c); /* POLLIN and/or POLLOUT */
/* Reads up to |n| bytes: > 0 bytes read, TP_AGAIN, TP_EOF or TP_ERR. */
ssize_t tp_read(tp_conn *c, void *buf, size_t n);
/* Writes up to |n| bytes: > 0 bytes written, TP_AGAIN or TP_ERR. */
ssize_t tp_write(tp_conn *c, const void *buf, size_t n);
/* Bytes the TLS layer has already decrypted and holds (read them without polling). */
size_t tp_pending(const tp_conn *c);
const char *tp_error(const tp_conn *c);
const char *tp_alpn(const tp_conn *c); /* negotiated protocol or NULL */
void tp_close(tp_conn *c);

#endif
