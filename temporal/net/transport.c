/*
 * transport: TCP and mbedTLS connections for the gRPC channel. See transport.h.
 */
#define _GNU_SOURCE
#include "temporal/net/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#define ERRLEN 512

static const char *const SYSTEM_BUNDLES[] = {
    "/etc/ssl/certs/ca-certificates.crt",  /* Debian, Ubuntu */
    "/etc/pki/tls/certs/ca-bundle.crt",    /* Amazon Linux, Fedora */
    "/etc/ssl/cert.pem",
};

static const char *ALPN[] = {"h2", NULL};

struct tp_tls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_ssl_config conf;
    int have_cert;
    int skip_host;
    char *server_name;
};

typedef enum { ST_CONNECTING, ST_HANDSHAKE, ST_READY, ST_FAILED } conn_state;

struct tp_conn {
    int fd;
    conn_state state;
    tp_tls *tls;
    mbedtls_ssl_context ssl;
    int ssl_ready;
    short wants;
    char host[256];
    char err[ERRLEN];
};

static void tls_errstr(int rc, const char *what, char *err, size_t errlen)
{
    char buf[160];
    mbedtls_strerror(rc, buf, sizeof(buf));
    snprintf(err, errlen, "%s: %s (-0x%04x)", what, buf, (unsigned)-rc);
}

/* PEM parsers want the terminating NUL counted in the length. */
static int parse_pem_crt(mbedtls_x509_crt *crt, const char *pem, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return MBEDTLS_ERR_X509_ALLOC_FAILED;
    memcpy(copy, pem, len);
    copy[len] = '\0';
    int rc = mbedtls_x509_crt_parse(crt, (const unsigned char *)copy, len + 1);
    free(copy);
    return rc;
}

/* Keeps the chain check but forgives a name mismatch when asked to. */
static int verify_cb(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    tp_tls *t = ud;
    (void)crt;
    if (t->skip_host && depth == 0)
        *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

int tp_tls_new(tp_tls **out, const tp_tls_config *cfg, char *err, size_t errlen)
{
    static int psa_ready;
    *out = NULL;
    if (!psa_ready) {
        if (psa_crypto_init() != PSA_SUCCESS) {
            snprintf(err, errlen, "TLS: PSA crypto initialisation failed");
            return TP_ERR;
        }
        psa_ready = 1;
    }
    tp_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return TP_ERR;
    }
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    mbedtls_ssl_config_init(&t->conf);
    int rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                                   (const unsigned char *)"tw-lambda", 9);
    if (rc) {
        tls_errstr(rc, "TLS: seeding the random generator", err, errlen);
        goto fail;
    }
    if (cfg->ca_pem) {
        rc = parse_pem_crt(&t->ca, cfg->ca_pem, cfg->ca_len);
        if (rc < 0) {
            tls_errstr(rc, "TLS: server CA certificate", err, errlen);
            goto fail;
        }
    } else {
        size_t i;
        for (i = 0; i < sizeof(SYSTEM_BUNDLES) / sizeof(SYSTEM_BUNDLES[0]); i++)
            if (access(SYSTEM_BUNDLES[i], R_OK) == 0 &&
                mbedtls_x509_crt_parse_file(&t->ca, SYSTEM_BUNDLES[i]) >= 0)
                break;
        if (i == sizeof(SYSTEM_BUNDLES) / sizeof(SYSTEM_BUNDLES[0])) {
            snprintf(err, errlen, "TLS: no system CA bundle found (looked for %s and %s); set "
                                  "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
                     SYSTEM_BUNDLES[0], SYSTEM_BUNDLES[1]);
            goto fail;
        }
    }
    if (cfg->cert_pem || cfg->key_pem) {
        if (!cfg->cert_pem || !cfg->key_pem) {
            snprintf(err, errlen, "TLS: a client certificate needs both the certificate and its key");
            goto fail;
        }
        rc = parse_pem_crt(&t->cert, cfg->cert_pem, cfg->cert_len);
        if (rc < 0) {
            tls_errstr(rc, "TLS: client certificate", err, errlen);
            goto fail;
        }
        char *key = malloc(cfg->key_len + 1);
        if (!key) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        memcpy(key, cfg->key_pem, cfg->key_len);
        key[cfg->key_len] = '\0';
        rc = mbedtls_pk_parse_key(&t->key, (const unsigned char *)key, cfg->key_len + 1, NULL, 0,
                                  mbedtls_ctr_drbg_random, &t->drbg);
        mbedtls_platform_zeroize(key, cfg->key_len);
        free(key);
        if (rc) {
            tls_errstr(rc, "TLS: client key", err, errlen); /* never the key itself */
            goto fail;
        }
        t->have_cert = 1;
    }
    rc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) {
        tls_errstr(rc, "TLS: configuration", err, errlen);
        goto fail;
    }
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_alpn_protocols(&t->conf, ALPN);
    t->skip_host = cfg->skip_host_verification;
    mbedtls_ssl_conf_verify(&t->conf, verify_cb, t);
    if (t->have_cert && (rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key))) {
        tls_errstr(rc, "TLS: client certificate", err, errlen);
        goto fail;
    }
    if (cfg->server_name && !(t->server_name = strdup(cfg->server_name))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    *out = t;
    return TP_OK;
fail:
    tp_tls_free(t);
    return TP_ERR;
}

void tp_tls_free(tp_tls *t)
{
    if (!t)
        return;
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_pk_free(&t->key);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    free(t->server_name);
    free(t);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tp_conn *c = ctx;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tp_conn *c = ctx;
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return MBEDTLS_ERR_NET_CONN_RESET;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* A name lookup on a thread of its own. Two owners (the lookup thread and the caller); the
 * last to let go frees it, so a caller that stops waiting leaves nothing behind. */
typedef struct lookup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int owners;             /* under mu */
    int done, rc;           /* under mu */
    struct addrinfo *res;   /* under mu */
    char host[256], port[16];
} lookup;

static void lookup_release(lookup *l)
{
    pthread_mutex_lock(&l->mu);
    int left = --l->owners;
    pthread_mutex_unlock(&l->mu);
    if (left)
        return;
    if (l->res)
        freeaddrinfo(l->res);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

static void *lookup_thread(void *arg)
{
    lookup *l = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(l->host, l->port, &hints, &res);
    pthread_mutex_lock(&l->mu);
    l->rc = rc;
    l->res = res;
    l->done = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    lookup_release(l);
    return NULL;
}

/* getaddrinfo() bounded by |ms|. 0 with *res (the caller frees it), or -1 with |err|. */
static int resolve(const char *host, const char *port, int ms, struct addrinfo **res, char *err,
                   size_t errlen)
{
    *res = NULL;
    lookup *l = calloc(1, sizeof(*l));
    if (!l || strlen(host) >= sizeof(l->host)) {
        free(l);
        snprintf(err, errlen, "resolve %.200s: %s", host, l ? "name too long" : "out of memory");
        return -1;
    }
    snprintf(l->host, sizeof(l->host), "%s", host);
    snprintf(l->port, sizeof(l->port), "%s", port);
    l->owners = 2;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int started = pthread_create(&th, &attr, lookup_thread, l) == 0;
    pthread_attr_destroy(&attr);
    if (!started)
        lookup_thread(l); /* no thread: look it up here, unbounded, rather than not at all */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->done)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT)
            break;
    int done = l->done, rc = l->rc;
    if (done && rc == 0) {
        *res = l->res; /* the caller's now */
        l->res = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    lookup_release(l);
    if (!done)
        snprintf(err, errlen, "resolve %.200s: no answer within %d ms", host, ms);
    else if (rc)
        snprintf(err, errlen, "resolve %.200s: %s", host, gai_strerror(rc));
    return done && rc == 0 ? 0 : -1;
}

int tp_connect(tp_conn **out, const char *host, int port, tp_tls *tls, int resolve_ms, char *err,
               size_t errlen)
{
    struct addrinfo *res = NULL;
    char portstr[16];
    *out = NULL;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (resolve(host, portstr, resolve_ms > 0 ? resolve_ms : 1, &res, err, errlen) != 0)
        return TP_ERR;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
            break;
        snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (!err[0])
            snprintf(err, errlen, "connect %s:%d: no usable address", host, port);
        return TP_ERR;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return TP_ERR;
    }
    c->fd = fd;
    c->tls = tls;
    c->state = ST_CONNECTING;
    c->wants = POLLOUT;
    snprintf(c->host, sizeof(c->host), "%s", host);
    *out = c;
    return TP_OK;
}

static int start_tls(tp_conn *c)
{
    mbedtls_ssl_init(&c->ssl);
    c->ssl_ready = 1;
    int rc = mbedtls_ssl_setup(&c->ssl, &c->tls->conf);
    if (!rc)
        rc = mbedtls_ssl_set_hostname(&c->ssl, c->tls->server_name ? c->tls->server_name : c->host);
    if (rc) {
        tls_errstr(rc, "TLS setup", c->err, sizeof(c->err));
        return TP_ERR;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    return TP_OK;
}

int tp_handshake(tp_conn *c)
{
    if (c->state == ST_READY)
        return TP_OK;
    if (c->state == ST_FAILED)
        return TP_ERR;
    if (c->state == ST_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        struct pollfd p = {c->fd, POLLOUT, 0};
        if (poll(&p, 1, 0) == 0) {
            c->wants = POLLOUT;
            return TP_AGAIN;
        }
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            snprintf(c->err, sizeof(c->err), "connect %s: %s", c->host, strerror(soerr));
            c->state = ST_FAILED;
            return TP_ERR;
        }
        if (!c->tls) {
            c->state = ST_READY;
            c->wants = POLLIN;
            return TP_OK;
        }
        if (start_tls(c) != TP_OK) {
            c->state = ST_FAILED;
            return TP_ERR;
        }
        c->state = ST_HANDSHAKE;
    }
    int rc = mbedtls_ssl_handshake(&c->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        c->wants = rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
        return TP_AGAIN;
    }
    if (rc) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
            char info[200];
            mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
            info[strcspn(info, "\n")] = '\0';
            snprintf(c->err, sizeof(c->err), "TLS handshake with %s: server certificate not "
                     "trusted: %s", c->host, info);
        } else {
            char what[300];
            snprintf(what, sizeof(what), "TLS handshake with %s", c->host);
            tls_errstr(rc, what, c->err, sizeof(c->err));
        }
        c->state = ST_FAILED;
        return TP_ERR;
    }
    c->state = ST_READY;
    c->wants = POLLIN;
    return TP_OK;
}

int tp_fd(const tp_conn *c) { return c->fd; }
short tp_wants(const tp_conn *c) { return c->wants; }
const char *tp_error(const tp_conn *c) { return c->err; }

const char *tp_alpn(const tp_conn *c)
{
    return c->tls && c->ssl_ready ? mbedtls_ssl_get_alpn_protocol(&c->ssl) : NULL;
}

size_t tp_pending(const tp_conn *c)
{
    return c->tls && c->state == ST_READY ? mbedtls_ssl_get_bytes_avail(&c->ssl) : 0;
}

ssize_t tp_read(tp_conn *c, void *buf, size_t n)
{
    if (!c->tls) {
        ssize_t r = recv(c->fd, buf, n, 0);
        if (r > 0)
            return r;
        if (r == 0)
            return TP_EOF;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return TP_AGAIN;
        snprintf(c->err, sizeof(c->err), "read: %s", strerror(errno));
        return TP_ERR;
    }
    for (;;) {
        int r = mbedtls_ssl_read(&c->ssl, buf, n);
        if (r > 0)
            return r;
        if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_NET_CONN_RESET)
            return TP_EOF;
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            c->wants = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
            return TP_AGAIN;
        }
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue; /* TLS 1.3 post-handshake message: nothing for us */
        tls_errstr(r, "TLS read", c->err, sizeof(c->err));
        return TP_ERR;
    }
}

ssize_t tp_write(tp_conn *c, const void *buf, size_t n)
{
    if (!c->tls) {
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return TP_AGAIN;
        snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
        return TP_ERR;
    }
    for (;;) {
        int w = mbedtls_ssl_write(&c->ssl, buf, n);
        if (w >= 0)
            return w;
        if (w == MBEDTLS_ERR_SSL_WANT_READ || w == MBEDTLS_ERR_SSL_WANT_WRITE)
            return TP_AGAIN;
        if (w == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue;
        tls_errstr(w, "TLS write", c->err, sizeof(c->err));
        return TP_ERR;
    }
}

void tp_close(tp_conn *c)
{
    if (!c)
        return;
    if (c->ssl_ready) {
        if (c->state == ST_READY)
            mbedtls_ssl_close_notify(&c->ssl);
        mbedtls_ssl_free(&c->ssl);
    }
    close(c->fd);
    free(c);
}
