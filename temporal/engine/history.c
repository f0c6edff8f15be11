/*
 * history: batches of a lazily paged history. See history.h.
 */
#include "temporal/engine/history.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "temporal/engine/cmd.h"

struct history_iter {
    arena *a;
    pb_event *const *page;   /* the page being read */
    size_t npage, pos;
    history_page_fn more;    /* NULL once there are no more pages */
    void *ctx;
    int64_t last_id;         /* the id of the last event read (and checked) */
    size_t count;            /* events read so far */
    pb_event *peeked;        /* read ahead, not yet in a batch */
    pb_event **buf[2];       /* the current batch and the one read ahead (history_peek) */
    size_t cap[2];
    int fill;                /* the buffer the next batch is read into */
    int ahead;               /* |next| holds the batch read ahead, |next_rc| what reading gave */
    int next_rc;
    history_batch next;
    char err[768];
};

static const char oom[] = "out of memory while reading the history";

history_iter *history_open(arena *a, int64_t first_id, pb_event *const *first, size_t nfirst,
                           history_page_fn more, void *ctx)
{
    history_iter *h = arena_alloc(a, sizeof(*h));
    if (!h)
        return NULL;
    memset(h, 0, sizeof(*h));
    h->a = a;
    h->last_id = first_id - 1;
    h->page = first;
    h->npage = first ? nfirst : 0;
    h->more = more;
    h->ctx = ctx;
    return h;
}

const char *history_error(const history_iter *h) { return h->err; }
int64_t history_last_id(const history_iter *h) { return h->last_id; }

/* The checks every event passes as it is read. 0, or -1 with h->err set. */
static int check_event(history_iter *h, const pb_event *ev)
{
    if (ev->event_id != h->last_id + 1) {
        snprintf(h->err, sizeof(h->err), "missing history events: expected event id %lld but "
                 "got %lld (%zu events read)", (long long)h->last_id + 1, (long long)ev->event_id,
                 h->count + 1);
        return -1;
    }
    char buf[64];
    const char *wrong = ev_problem(ev, buf, sizeof(buf));
    if (wrong) {
        snprintf(h->err, sizeof(h->err), "history event %lld (%s) %s: the history cannot be "
                 "replayed", (long long)ev->event_id, ev_kind_of(ev->event_type)->name, wrong);
        return -1;
    }
    h->last_id++;
    h->count++;
    return 0;
}

/* The next event, loading pages as needed: 1 with *ev, 0 at the end, -1 failed. */
static int read_event(history_iter *h, pb_event **ev)
{
    if (h->peeked) {
        *ev = h->peeked;
        h->peeked = NULL;
        return 1;
    }
    while (h->pos == h->npage) {
        if (!h->more)
            return 0;
        char why[512] = "";
        pb_event *const *page = NULL;
        size_t n = 0;
        if (h->more(h->ctx, h->a, &page, &n, why, sizeof(why)) != 0) {
            snprintf(h->err, sizeof(h->err), "could not read the history after event %lld: %s",
                     (long long)h->last_id, why[0] ? why : "the page could not be loaded");
            return -1;
        }
        if (!n || !page) {
            h->more = NULL;
            return 0;
        }
        h->page = page;
        h->npage = n;
        h->pos = 0;
    }
    pb_event *e = h->page[h->pos++];
    if (!e) {
        snprintf(h->err, sizeof(h->err), "history event after %lld is missing",
                 (long long)h->last_id);
        return -1;
    }
    if (check_event(h, e))
        return -1;
    *ev = e;
    return 1;
}

static int peek_event(history_iter *h, pb_event **ev)
{
    int rc = h->peeked ? 1 : read_event(h, &h->peeked);
    *ev = rc == 1 ? h->peeked : NULL;
    return rc;
}

static int append(history_iter *h, size_t n, pb_event *ev)
{
    int f = h->fill;
    if (n == h->cap[f]) {
        size_t cap = h->cap[f] ? h->cap[f] * 2 : 64;
        pb_event **bigger = arena_alloc(h->a, cap * sizeof(*bigger));
        if (!bigger) {
            snprintf(h->err, sizeof(h->err), "%s", oom);
            return -1;
        }
        if (n)
            memcpy(bigger, h->buf[f], n * sizeof(*bigger));
        h->buf[f] = bigger;
        h->cap[f] = cap;
    }
    h->buf[f][n] = ev;
    return 0;
}

/* Did the workflow task attempt that started with the event before |next| fail or time out?
 * Only the next event says (the server writes nothing between an attempt's start and end). */
static int attempt_failed(const pb_event *next)
{
    return next && (next->event_type == EV(WORKFLOW_TASK_FAILED) ||
                    next->event_type == EV(WORKFLOW_TASK_TIMED_OUT));
}

/* Reads the next batch into the buffer the batch before the current one used. */
static int read_batch(history_iter *h, history_batch *b)
{
    size_t n = 0;
    *b = (history_batch){0};
    for (;;) {
        pb_event *ev, *next;
        int rc = read_event(h, &ev);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        if (append(h, n++, ev))
            return -1;
        if (ev->event_type != EV(WORKFLOW_TASK_STARTED))
            continue;
        if ((rc = peek_event(h, &next)) < 0)
            return -1;
        if (attempt_failed(next))
            continue; /* the code runs at the attempt that completed, with its time */
        b->runs_code = 1;
        b->last = next == NULL;
        break;
    }
    if (!n)
        return 0;
    b->events = h->buf[h->fill];
    b->n = n;
    if (!b->runs_code)
        b->last = 1;
    h->fill ^= 1;
    return 1;
}

int history_next(history_iter *h, history_batch *b)
{
    if (!h->ahead)
        return read_batch(h, b);
    h->ahead = 0;
    *b = h->next;
    return h->next_rc;
}

int history_peek(history_iter *h, history_batch *b)
{
    if (!h->ahead) {
        h->next_rc = read_batch(h, &h->next);
        h->ahead = 1;
    }
    *b = h->next;
    return h->next_rc;
}
