/*
 * family: a parent workflow that hands work to child workflows, round after round, and
 * continues as new every few rounds so its history stays short, carrying its state to the
 * next run as arguments. It shows tw_start_child() / tw_await() on the children's results,
 * tw_continue_as_new() with the state, and tw_wf_info (the chain of runs, the history length,
 * the server's continue-as-new suggestion, a child's parent).
 *
 *   "Family" (rounds, children, rounds_per_run; then, from the runs it continues as:
 *             done, total, runs)
 *     each round starts |children| "Chore" children at once (ids "<family id>-r<round>-c<i>",
 *     argument round * 100 + i), waits for all of them and adds their results to the total;
 *     after |rounds_per_run| rounds in one run (or sooner, when the server suggests it) it
 *     continues as new with its state; once |rounds| rounds are done it returns
 *     {"rounds":..,"total":..,"runs":<runs of the chain>,"first_run":"<the first run's id>"}
 *   "Chore" (n): a child: runs the "Square" activity on n and returns n * n; it fails when it
 *     was not started by a parent (tw_wf_info's parent_workflow_id).
 *
 * Activity "Square" (n) returns n * n.
 *
 * Try it (tw-driver, local/temporal/README.md):
 *   start --id family-1 --type Family --task-queue Q --input 3 --input 2 --input 2
 *   await --id family-1       (follows the runs it continues as)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw.h"

enum { MAX_CHILDREN = 16, MAX_ROUNDS = 1000 };

/* A JSON number argument, or |dflt| when it is missing or not a number. */
static long long number_arg(const tw_payload *args, size_t nargs, size_t i, long long dflt)
{
    char buf[24];
    if (i >= nargs || !args[i].data || args[i].len == 0 || args[i].len >= sizeof(buf))
        return dflt;
    memcpy(buf, args[i].data, args[i].len);
    buf[args[i].len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end != buf && *end == '\0' ? v : dflt;
}

/* A JSON payload printed into workflow memory (it must outlive the call: see tw.h). */
static tw_payload wf_json(tw_wf *wf, const char *fmt, long long a, long long b)
{
    char *out = tw_wf_alloc(wf, 32);
    if (!out)
        return tw_null();
    int n = snprintf(out, 32, fmt, a, b);
    return (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
}

static int fail(tw_wf *wf, const char *type, const char *message)
{
    tw_failure f = {.type = type, .message = message, .non_retryable = 1};
    return tw_wf_fail(wf, &f);
}

/* The state a run hands the next. */
typedef struct family {
    long long rounds, children, per_run; /* what was asked */
    long long done, total, runs;         /* how far the chain got */
} family;

/* One round: |f->children| children at once, then their results. */
static int round_of_children(tw_wf *wf, family *f)
{
    tw_future *results[MAX_CHILDREN];
    const char *id = tw_wf_info_get(wf)->workflow_id;
    for (long long i = 0; i < f->children; i++) {
        char child_id[300];
        snprintf(child_id, sizeof(child_id), "%s-r%lld-c%lld", id, f->done + 1, i);
        tw_child_options o = {.workflow_id = child_id};
        tw_payload arg = wf_json(wf, "%lld", (f->done + 1) * 100 + i, 0);
        int rc = tw_start_child(wf, "Chore", &o, &arg, 1, NULL, &results[i]);
        if (rc)
            return rc;
    }
    for (long long i = 0; i < f->children; i++) {
        tw_payload r;
        int rc = tw_await(wf, results[i], &r);
        if (rc)
            return rc; /* TW_EFAILED: the child's failure is tw_wf_last_failure() */
        f->total += number_arg(&r, 1, 0, 0);
    }
    f->done++;
    return 0;
}

static int family_workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    family f = {.rounds = number_arg(args, nargs, 0, 3),
                .children = number_arg(args, nargs, 1, 2),
                .per_run = number_arg(args, nargs, 2, 2),
                .done = number_arg(args, nargs, 3, 0),
                .total = number_arg(args, nargs, 4, 0),
                .runs = number_arg(args, nargs, 5, 0)};
    if (f.rounds < 0 || f.rounds > MAX_ROUNDS || f.children < 1 || f.children > MAX_CHILDREN ||
        f.per_run < 1)
        return fail(wf, "BadArguments", "want 0-1000 rounds, 1-16 children, 1 or more rounds "
                                        "per run");
    f.runs++; /* this one */
    for (long long in_run = 0; f.done < f.rounds; in_run++) {
        const tw_wf_info *info = tw_wf_info_get(wf);
        if (in_run == f.per_run || info->continue_as_new_suggested) {
            /* The state goes to the next run; this run's history ends here. */
            tw_payload next[6];
            const long long v[6] = {f.rounds, f.children, f.per_run, f.done, f.total, f.runs};
            for (int i = 0; i < 6; i++)
                next[i] = wf_json(wf, "%lld", v[i], 0);
            return tw_continue_as_new(wf, NULL, next, 6);
        }
        int rc = round_of_children(wf, &f);
        if (rc)
            return rc;
    }
    const char *first = tw_wf_info_get(wf)->first_run_id;
    char *out = tw_wf_alloc(wf, 256);
    if (!out)
        return TW_ENOMEM;
    int n = snprintf(out, 256, "{\"rounds\":%lld,\"total\":%lld,\"runs\":%lld,\"first_run\":\"%s\"}",
                     f.done, f.total, f.runs, first ? first : "");
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
    return 0;
}

static int chore(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (!tw_wf_info_get(wf)->parent_workflow_id)
        return fail(wf, "NoParent", "a Chore runs as a child of a Family");
    tw_activity_options o = {.start_to_close_ms = 10000};
    return tw_execute_activity(wf, "Square", &o, args, nargs, result);
}

static int square(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long n = number_arg(args, nargs, 0, 0);
    char *out = tw_act_alloc(act, 32);
    if (!out)
        return TW_ENOMEM;
    int len = snprintf(out, 32, "%lld", n * n);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)len};
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Family", family_workflow, TW_AUTO_UPGRADE);
    rc = rc ? rc : tw_register_workflow(r, "Chore", chore, TW_AUTO_UPGRADE);
    return rc ? rc : tw_register_activity(r, "Square", square);
}

TW_LIBRARY(setup)
