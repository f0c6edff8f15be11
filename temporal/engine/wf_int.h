/*
 * wf_int: what the engine's files share (wf.c: the replay driver and the coroutine dispatcher;
 * wf_api.c: the calls workflow code makes). Nothing outside temporal/engine/ includes this.
 *
 * The model, in one paragraph: the history is read in batches (history.h), one per workflow
 * task whose code runs. Within a batch, a command event (cmd.h: the event that records a
 * command) must match the next command the code made in an earlier batch, in order; a
 * resolution event resolves the future of the operation it names. At the end of the batch the
 * code runs until it blocks, with the time of the batch's WorkflowTaskStarted, making new
 * commands; those made after the last batch are the task's answer.
 *
 * Memory: everything lives in the task's arena. Out of memory anywhere sets wf->oom: no
 * closing command is made whatever the code returns next, and the task fails (retried).
 */
#ifndef TW_WF_INT_H
#define TW_WF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/coro.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "registry/reg.h"
#include "tw.h"

/* What a tw_future is: the state of an operation a command started (an activity, a timer), or
 * of one that needs no command (a 0 ms timer). */
typedef struct wf_future {
    const cmd_kind *kind;      /* its command's row; NULL when it has none */
    int done;
    int failed;
    const char *id;            /* activity id or timer id */
    const char *type;          /* activity type */
    int64_t initiated;         /* the event that recorded its command; 0 until the history has it */
    tw_payload *result;
    size_t nresult;
    tw_failure *failure;
    struct wf_future *next;
} wf_future;

/* A command the code made, until a history event matches it (or it is the task's answer). */
typedef struct wf_cmd {
    pb_command *pb;
    const cmd_kind *kind;
    wf_future *f;              /* the operation it starts, or NULL */
    int must_match;            /* made during a task the history says completed */
    struct wf_cmd *next;
} wf_cmd;

struct tw_wf {
    int64_t *code_since;       /* see wf_input */
    arena *a;
    const reg_workflow *def;
    tw_wf_info info;
    tw_payload *args;
    size_t nargs;
    coro *co;
    int64_t now_ms;
    uint64_t rng;
    int replaying;
    int act_seq, timer_seq;
    wf_cmd *pending, **pending_tail;
    wf_future *futures;
    int returned;              /* the workflow function has returned */
    int code;
    tw_payload result;
    tw_failure *failure;       /* set by tw_wf_fail */
    const tw_failure *last_failure;
    int closed;                /* the closing command is made */
    int oom;                   /* an allocation failed: the task fails, whatever the code does */
    int bad_result;            /* the code returned a payload with len > 0 and data NULL */
};

/* ---- wf_api.c ---- */

/* |wf| when the calling code is its coroutine, else NULL: calls from elsewhere are TW_ESTATE. */
tw_wf *wf_current(tw_wf *wf);
/* Allocations that set wf->oom when they fail. */
void *wf_mem(tw_wf *wf, size_t n);
char *wf_strdup(tw_wf *wf, const char *s);
pb_payloads *wf_payloads(tw_wf *wf, const tw_payload *p, size_t n);
/* Queues command |pb| (of row |type|) starting |f| (or NULL); sets wf->oom when |pb| is NULL. */
void wf_push_cmd(tw_wf *wf, int type, pb_command *pb, wf_future *f);
/* A future of |kind| (NULL: none) for operation |id| / |type|, on the workflow's list. */
wf_future *wf_new_future(tw_wf *wf, const cmd_kind *kind, const char *id, const char *type);
/* FNV-1a of a run id: the seed of tw_random(). */
uint64_t wf_seed_of(const char *run_id);

#endif
