/*
 * stallproxy: a byte-copying TCP proxy whose forwarding a test can stall, randomise or cut
 * (see stallproxy.h). One thread, one poll loop over the listener, a wake pipe and both sockets
 * of every connection. Each direction of a connection has a bounded buffer; a direction that
 * must not forward is simply left out of the poll set, so nothing is read or written and TCP's
 * own flow control holds the peers (their sockets stay open, their bytes wait in the kernel).
 * Latency: every read leaves a mark (the end of its bytes, the time they may go); a direction
 * writes only bytes whose mark has come, so delayed bytes keep their order.
 */
#define _GNU_SOURCE
#include "stallproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DIR_BUF (64 * 1024)
#define MARKS 64 /* reads whose bytes wait for their time; a direction full of them reads no more */

/* One direction of a connection: bytes read from |src| wait in |buf| until written to |dst|. */
typedef struct direction {
    char buf[DIR_BUF];
    size_t off, len;
    size_t released; /* bytes before this offset may be written; the rest wait for their mark */
    struct {
        size_t end;  /* bytes before |end| ... */
        int64_t at;  /* ... may be written from |at| on (monotonic ms) */
    } marks[MARKS];
    int mhead, mcount;
    int eof;         /* |src| ended its stream */
    int shut;        /* ... and that end was passed on: shutdown(dst, SHUT_WR) */
    int stalled;     /* RANDOM_STALL: in a stall period */
    int64_t switch_at; /* RANDOM_STALL: when the current period ends (monotonic ms) */
} direction;

/* RANDOM: what a connection does in its current period. */
typedef enum period { PERIOD_PASS, PERIOD_STALL, PERIOD_LATENCY } period;

typedef struct pconn {
    int cfd, ufd;    /* the client's socket, the one to the target */
    int connecting;  /* the connect to the target is still under way */
    int pc, pu;      /* their slots in this round's poll set, -1 when not polled */
    direction up;    /* client -> target */
    direction down;  /* target -> client */
    period period;   /* RANDOM: the current period, its end and (latency) its delay */
    int64_t period_end;
    int delay_ms;
    struct pconn *next;
} pconn;

struct stallproxy {
    stallproxy_options opt;
    int lfd, port;
    int wake[2];
    pthread_t thread;
    atomic_int mode;
    atomic_int stop;
    atomic_long accepted, open;
    atomic_long resets, stalls, latency_periods;
    uint32_t rng;
    pconn *conns;
    int nconns;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t next_random(stallproxy *p)
{
    uint32_t x = p->rng; /* xorshift32: small, seedable, and the same everywhere */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return p->rng = x;
}

static int64_t random_between(stallproxy *p, int lo, int hi)
{
    return lo + (int64_t)(next_random(p) % (uint32_t)(hi - lo + 1));
}

/* Closes |fd| with a reset (RST) instead of an orderly end: what a vanished peer looks like. */
static void close_reset(int fd)
{
    struct linger l = {1, 0};
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

static void start_pass_period(stallproxy *p, direction *d, int64_t now)
{
    d->stalled = 0;
    d->switch_at = now + random_between(p, p->opt.pass_min_ms, p->opt.pass_max_ms);
}

static void start_random_pass(stallproxy *p, pconn *c, int64_t now)
{
    c->period = PERIOD_PASS;
    c->period_end = now + random_between(p, p->opt.pass_min_ms, p->opt.pass_max_ms);
}

/* RANDOM: draws |c|'s next period. Returns -1 when the draw is a reset. */
static int next_random_period(stallproxy *p, pconn *c, int64_t now)
{
    const stallproxy_options *o = &p->opt;
    uint32_t total = (uint32_t)(o->reset_weight + o->stall_weight + o->latency_weight +
                                o->pass_weight);
    uint32_t r = next_random(p) % total;
    if (r < (uint32_t)o->reset_weight) {
        atomic_fetch_add(&p->resets, 1);
        return -1;
    }
    r -= (uint32_t)o->reset_weight;
    if (r < (uint32_t)o->stall_weight) {
        c->period = PERIOD_STALL;
        c->period_end = now + random_between(p, o->stall_min_ms, o->stall_max_ms);
        atomic_fetch_add(&p->stalls, 1);
        return 0;
    }
    r -= (uint32_t)o->stall_weight;
    if (r < (uint32_t)o->latency_weight) {
        c->period = PERIOD_LATENCY;
        c->delay_ms = (int)random_between(p, o->latency_min_ms, o->latency_max_ms);
        c->period_end = now + random_between(p, o->pass_min_ms, o->pass_max_ms);
        atomic_fetch_add(&p->latency_periods, 1);
        return 0;
    }
    start_random_pass(p, c, now);
    return 0;
}

static void drop_conn(stallproxy *p, pconn **link, int reset)
{
    pconn *c = *link;
    *link = c->next;
    if (reset) {
        close_reset(c->cfd);
        close_reset(c->ufd);
    } else {
        close(c->cfd);
        close(c->ufd);
    }
    free(c);
    p->nconns--;
    atomic_fetch_sub(&p->open, 1);
}

static void drop_all(stallproxy *p)
{
    while (p->conns)
        drop_conn(p, &p->conns, 1);
}

/* Whether direction |d| of |c| may move bytes in the current mode. */
static int forwarding(int mode, const pconn *c, const direction *d)
{
    switch (mode) {
    case STALLPROXY_PASS: return 1;
    case STALLPROXY_RANDOM_STALL: return !d->stalled;
    case STALLPROXY_RANDOM: return c->period != PERIOD_STALL;
    default: return 0;
    }
}

/* How long bytes |c| reads now wait before they go on. */
static int64_t delay_of(int mode, const pconn *c)
{
    return mode == STALLPROXY_RANDOM && c->period == PERIOD_LATENCY ? c->delay_ms : 0;
}

/* Bytes up to |end| may be written from |at| on. Marks stay in time order, so a later read
 * never overtakes an earlier one held longer. */
static void add_mark(direction *d, size_t end, int64_t at)
{
    if (d->mcount) {
        int last = (d->mhead + d->mcount - 1) % MARKS;
        if (at <= d->marks[last].at) {
            d->marks[last].end = end; /* goes with the bytes before it */
            return;
        }
    }
    int slot = (d->mhead + d->mcount) % MARKS;
    d->marks[slot].end = end;
    d->marks[slot].at = at;
    d->mcount++;
}

/* Releases the bytes whose time has come; returns when the next ones may go, or -1. */
static int64_t release(direction *d, int64_t now)
{
    while (d->mcount && d->marks[d->mhead].at <= now) {
        d->released = d->marks[d->mhead].end;
        d->mhead = (d->mhead + 1) % MARKS;
        d->mcount--;
    }
    return d->mcount ? d->marks[d->mhead].at : -1;
}

static void accept_all(stallproxy *p, int64_t now)
{
    for (;;) {
        int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        atomic_fetch_add(&p->accepted, 1);
        /* The mode as it is now: a test that leaves VANISH and connects at once must not have
         * its connection reset by a loop that read the mode before the switch. */
        if (atomic_load(&p->mode) == STALLPROXY_VANISH) {
            close_reset(fd);
            continue;
        }
        pconn *c = calloc(1, sizeof(*c));
        int ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)p->opt.target_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int rc = ufd >= 0 ? connect(ufd, (struct sockaddr *)&sa, sizeof(sa)) : -1;
        if (!c || ufd < 0 || (rc != 0 && errno != EINPROGRESS)) {
            free(c);
            close_reset(fd); /* the target is not there: the client learns it at once */
            if (ufd >= 0)
                close(ufd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->cfd = fd;
        c->ufd = ufd;
        c->connecting = rc != 0;
        c->pc = c->pu = -1;
        start_pass_period(p, &c->up, now);
        start_pass_period(p, &c->down, now);
        start_random_pass(p, c, now);
        c->next = p->conns;
        p->conns = c;
        p->nconns++;
        atomic_fetch_add(&p->open, 1);
    }
}

/* Moves what |d| can move from |src| to |dst| without blocking, holding what it reads for
 * |delay| ms. -1 when the connection broke. */
static int pump(direction *d, int src, int dst, int64_t delay)
{
    int64_t now = now_ms();
    if (!d->eof && d->len < DIR_BUF && d->mcount < MARKS) {
        ssize_t n = recv(src, d->buf + d->len, DIR_BUF - d->len, 0);
        if (n > 0) {
            d->len += (size_t)n;
            add_mark(d, d->len, now + delay);
        } else if (n == 0)
            d->eof = 1;
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
    }
    release(d, now);
    while (d->off < d->released) {
        ssize_t n = send(dst, d->buf + d->off, d->released - d->off, MSG_NOSIGNAL);
        if (n > 0) {
            d->off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        return -1;
    }
    if (d->off == d->len) /* then every mark is released too */
        d->off = d->len = d->released = 0;
    if (d->eof && d->len == 0 && !d->shut) {
        shutdown(dst, SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

/* One round of work on |c| after poll. Returns -1 when it broke, 1 when both sides ended. */
static int service(pconn *c, int mode, const struct pollfd *pfds)
{
    if (c->connecting) {
        if (c->pu < 0 || !pfds[c->pu].revents)
            return 0;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
            return -1;
        c->connecting = 0;
    }
    int64_t delay = delay_of(mode, c);
    if (forwarding(mode, c, &c->up) && pump(&c->up, c->cfd, c->ufd, delay) < 0)
        return -1;
    if (forwarding(mode, c, &c->down) && pump(&c->down, c->ufd, c->cfd, delay) < 0)
        return -1;
    return c->up.shut && c->down.shut ? 1 : 0;
}

static short events_for(int mode, const pconn *c, const direction *in_dir,
                        const direction *out_dir)
{
    short ev = 0;
    if (forwarding(mode, c, in_dir) && !in_dir->eof && in_dir->len < DIR_BUF &&
        in_dir->mcount < MARKS)
        ev |= POLLIN;
    if (forwarding(mode, c, out_dir) && out_dir->released > out_dir->off)
        ev |= POLLOUT;
    return ev;
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* RANDOM_STALL: ends the periods that are over; returns the earliest next switch, or -1. */
static int64_t advance_periods(stallproxy *p, int64_t now)
{
    int64_t next = -1;
    for (pconn *c = p->conns; c; c = c->next) {
        direction *ds[2] = {&c->up, &c->down};
        for (int i = 0; i < 2; i++) {
            direction *d = ds[i];
            if (now >= d->switch_at) {
                if (d->stalled)
                    start_pass_period(p, d, now);
                else {
                    d->stalled = 1;
                    d->switch_at = now + random_between(p, p->opt.stall_min_ms,
                                                        p->opt.stall_max_ms);
                }
            }
            if (next < 0 || d->switch_at < next)
                next = d->switch_at;
        }
    }
    return next;
}

/* RANDOM: ends the periods that are over, resetting the connections that draw a reset;
 * returns the earliest next period end, or -1. */
static int64_t advance_random(stallproxy *p, int64_t now)
{
    int64_t next = -1;
    for (pconn **link = &p->conns; *link;) {
        pconn *c = *link;
        if (now >= c->period_end && next_random_period(p, c, now) < 0) {
            drop_conn(p, link, 1);
            continue;
        }
        next = earliest(next, c->period_end);
        link = &c->next;
    }
    return next;
}

/* Releases held bytes whose time has come; returns when the next held ones may go, or -1. */
static int64_t release_all(stallproxy *p, int64_t now)
{
    int64_t next = -1;
    for (pconn *c = p->conns; c; c = c->next) {
        next = earliest(next, release(&c->up, now));
        next = earliest(next, release(&c->down, now));
    }
    return next;
}

static void *run(void *arg)
{
    stallproxy *p = arg;
    struct pollfd *pfds = NULL;
    size_t cap = 0;
    int last_mode = atomic_load(&p->mode);
    while (!atomic_load(&p->stop)) {
        int mode = atomic_load(&p->mode);
        int64_t now = now_ms();
        if (mode != last_mode) {
            if (mode == STALLPROXY_VANISH)
                drop_all(p);
            for (pconn *c = p->conns; c; c = c->next) {
                if (mode == STALLPROXY_RANDOM_STALL) {
                    start_pass_period(p, &c->up, now);
                    start_pass_period(p, &c->down, now);
                }
                if (mode == STALLPROXY_RANDOM)
                    start_random_pass(p, c, now);
            }
            last_mode = mode;
        }
        int64_t next = -1;
        if (mode == STALLPROXY_RANDOM_STALL)
            next = advance_periods(p, now);
        if (mode == STALLPROXY_RANDOM)
            next = advance_random(p, now);
        next = earliest(next, release_all(p, now));
        int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
        size_t need = 2 + 2 * (size_t)p->nconns;
        if (need > cap) {
            struct pollfd *np = realloc(pfds, need * sizeof(*np));
            if (!np) {
                struct timespec ts = {0, 10 * 1000000L};
                nanosleep(&ts, NULL); /* try again: the test's thread frees memory too */
                continue;
            }
            pfds = np;
            cap = need;
        }
        size_t n = 0;
        pfds[n++] = (struct pollfd){p->wake[0], POLLIN, 0};
        pfds[n++] = (struct pollfd){p->lfd, POLLIN, 0};
        for (pconn *c = p->conns; c; c = c->next) {
            short ce = c->connecting ? 0 : events_for(mode, c, &c->up, &c->down);
            short ue = c->connecting ? POLLOUT : events_for(mode, c, &c->down, &c->up);
            c->pc = c->pu = -1;
            if (ce) {
                c->pc = (int)n;
                pfds[n++] = (struct pollfd){c->cfd, ce, 0};
            }
            if (ue) {
                c->pu = (int)n;
                pfds[n++] = (struct pollfd){c->ufd, ue, 0};
            }
        }
        if (poll(pfds, n, timeout) < 0 && errno != EINTR)
            break;
        if (pfds[0].revents) {
            char b[64];
            while (read(p->wake[0], b, sizeof(b)) > 0)
                ;
        }
        mode = atomic_load(&p->mode);
        if (mode != last_mode)
            continue; /* act on the new mode before moving a byte */
        for (pconn **link = &p->conns; *link;) {
            pconn *c = *link;
            if (c->pc < 0 && c->pu < 0) {
                link = &c->next;
                continue;
            }
            int rc = service(c, mode, pfds);
            if (rc != 0)
                drop_conn(p, link, rc < 0);
            else
                link = &c->next;
        }
        if (pfds[1].revents)
            accept_all(p, now_ms());
    }
    free(pfds);
    return NULL;
}

static int listen_loopback(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        int err = errno;
        close(fd);
        return -err;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static int default_range(int *lo, int *hi, int dlo, int dhi)
{
    if (*lo == 0 && *hi == 0) {
        *lo = dlo;
        *hi = dhi;
    }
    return *lo < 0 || *hi < *lo ? -1 : 0;
}

int stallproxy_start(stallproxy **out, const stallproxy_options *opt)
{
    *out = NULL;
    if (!opt || opt->target_port <= 0 || opt->target_port > 65535)
        return -EINVAL;
    stallproxy *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->opt = *opt;
    p->wake[0] = p->wake[1] = -1;
    stallproxy_options *o = &p->opt;
    if (o->reset_weight < 0 || o->stall_weight < 0 || o->latency_weight < 0 ||
        o->pass_weight < 0) {
        free(p);
        return -EINVAL;
    }
    if (o->reset_weight + o->stall_weight + o->latency_weight + o->pass_weight == 0) {
        o->reset_weight = 1;
        o->stall_weight = 2;
        o->latency_weight = 3;
        o->pass_weight = 4;
    }
    if (default_range(&o->stall_min_ms, &o->stall_max_ms, 2000, 6000) ||
        default_range(&o->pass_min_ms, &o->pass_max_ms, 500, 3000) ||
        default_range(&o->latency_min_ms, &o->latency_max_ms, 20, 300)) {
        free(p);
        return -EINVAL;
    }
    p->rng = opt->seed * 2654435761u ^ 0x9e3779b9u;
    if (p->rng == 0)
        p->rng = 1;
    atomic_init(&p->mode, opt->mode);
    atomic_init(&p->stop, 0);
    atomic_init(&p->accepted, 0);
    atomic_init(&p->open, 0);
    atomic_init(&p->resets, 0);
    atomic_init(&p->stalls, 0);
    atomic_init(&p->latency_periods, 0);
    int rc = listen_loopback(&p->port);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->lfd = rc;
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        rc = -errno;
        goto fail;
    }
    rc = -pthread_create(&p->thread, NULL, run, p);
    if (rc != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    close(p->lfd);
    if (p->wake[0] >= 0) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    free(p);
    return rc;
}

int stallproxy_port(const stallproxy *p)
{
    return p->port;
}

static void wake(stallproxy *p)
{
    char b = 1;
    ssize_t w = write(p->wake[1], &b, 1); /* a full pipe already says "look again" */
    (void)w;
}

void stallproxy_set_mode(stallproxy *p, stallproxy_mode mode)
{
    atomic_store(&p->mode, (int)mode);
    wake(p);
}

stallproxy_mode stallproxy_get_mode(const stallproxy *p)
{
    return (stallproxy_mode)atomic_load(&((stallproxy *)p)->mode);
}

long stallproxy_connections(const stallproxy *p)
{
    return atomic_load(&((stallproxy *)p)->accepted);
}

long stallproxy_open_connections(const stallproxy *p)
{
    return atomic_load(&((stallproxy *)p)->open);
}

void stallproxy_get_counters(const stallproxy *p, stallproxy_counters *out)
{
    stallproxy *q = (stallproxy *)p;
    out->connections = atomic_load(&q->accepted);
    out->open = atomic_load(&q->open);
    out->resets = atomic_load(&q->resets);
    out->stalls = atomic_load(&q->stalls);
    out->latency_periods = atomic_load(&q->latency_periods);
}

void stallproxy_stop(stallproxy *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    wake(p);
    pthread_join(p->thread, NULL);
    drop_all(p);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    free(p);
}
