/*
 * Side effects, mutable side effects and patches in the engine (temporal/engine/marker.c) on
 * histories built task by task the way the server writes them (tests/support/wf_hist.h),
 * through tests/fixtures/lib_wf_marker.c: the markers each call records, their replay from
 * the history (the side effect's function does not run again: its "outside world", the
 * MARKER_VALUE environment variable, changes between tasks), non-determinism when the history
 * lacks the marker or has another, and the patch rules of the official SDKs (patched() on a
 * history with and without the marker, deprecated markers passed over, a non-deprecated one
 * not); then the histories the feature scenarios of search_attributes/ recorded on the real
 * server (tests/features/record-histories.sh), replayed with their libraries. Every run is also
 * checked against a run kept between tasks (wf_shadow.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_marker.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    unsetenv("MARKER_VALUE");
    return 0;
}

static void world(const char *value) { setenv("MARKER_VALUE", value, 1); }

/* Detail |key| of the |i|-th command of the last answer, a RecordMarker, as text. */
static const char *detail(const whist *h, size_t i, const char *key)
{
    static char buf[256];
    assert_true(i < h->out.ncommands);
    const pb_payloads *p = cmd_marker_detail(h->out.commands[i], key);
    if (!p || !p->n_payloads)
        return "(none)";
    snprintf(buf, sizeof(buf), "%.*s", (int)p->payloads[0]->data.len,
             (const char *)p->payloads[0]->data.data);
    return buf;
}

/* The task failed as non-deterministic with a message holding |part|. */
static void nondeterministic(const whist *h, const char *part)
{
    if (!h->out.task_failed || !strstr(h->out.message, part))
        fail_msg("want a task failure with \"%s\", got: %s", part, wh_commands(h));
    assert_int_equal(h->out.cause, WF_CAUSE_NON_DETERMINISTIC);
}

/* ---- side effects ---- */

/* The function runs once per call when the code first gets there; each result is a marker
 * (sdk-go's "SideEffect": side-effect-id, data); the replay returns the recorded results
 * although the world changed, so the function did not run again. */
static void side_effect_runs_once_and_replays(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    world("first");
    wa_expect(&h, reg, "SideEffects",
              "RecordMarker(SideEffect, side-effect-id 1) | RecordMarker(SideEffect, "
              "side-effect-id 2) | StartTimer(id 1)");
    assert_string_equal(detail(&h, 0, "data"), "\"first\"");
    assert_string_equal(detail(&h, 1, "side-effect-id"), "2");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    world("second");
    wa_expect(&h, reg, "SideEffects", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[\"first\",\"first\"]");
    wh_free(&h);
}

/* A replay whose history has no SideEffect marker where the code asks for one fails the task
 * as non-deterministic, naming the call. */
static void side_effect_without_marker_is_nondeterminism(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Sleep", "StartTimer(id 1)"); /* old code: no side effect */
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wh_run(&h, reg, "SideEffects", 0);
    nondeterministic(&h, "tw_side_effect call 1 has no SideEffect marker");
    wh_free(&h);
}

/* A marker of another kind (here the mutable side effect's) where the code made a side
 * effect: non-determinism, naming both. */
static void side_effect_against_another_marker(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    world("x");
    wa_expect(&h, reg, "Mutable", "RecordMarker(MutableSideEffect, side-effect-id \"cfg_1\") | "
                                  "StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wh_run(&h, reg, "SideEffects", 0);
    nondeterministic(&h, "SideEffect marker");
    wh_free(&h);
}

/* ---- mutable side effects ---- */

/* A marker only when the value changes; the replay gives each call the value the run had. */
static void mutable_side_effect_records_changes(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    world("a");
    wa_expect(&h, reg, "Mutable", "RecordMarker(MutableSideEffect, side-effect-id \"cfg_1\") | "
                                  "StartTimer(id 1)");
    assert_string_equal(detail(&h, 0, "data"), "\"a\"");
    assert_string_equal(detail(&h, 0, "mutable-side-effect-call-counter"), "1");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Mutable", "StartTimer(id 2)"); /* the same value: no marker */
    wh_answer(&h);
    wh_timer_fired(&h, "2");
    wh_task(&h, 0);
    world("b");
    wa_expect(&h, reg, "Mutable", "RecordMarker(MutableSideEffect, side-effect-id \"cfg_3\") | "
                                  "StartTimer(id 3)");
    assert_string_equal(detail(&h, 0, "data"), "\"b\"");
    wh_answer(&h);
    wh_timer_fired(&h, "3");
    wh_task(&h, 0);
    world("c");
    wa_expect(&h, reg, "Mutable", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[\"a\",\"a\",\"b\"]");
    wh_free(&h);
}

/* The first call of a mutable side effect must have its marker on replay. */
static void mutable_side_effect_without_marker_is_nondeterminism(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Sleep", "StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wh_run(&h, reg, "Mutable", 0);
    nondeterministic(&h, "tw_mutable_side_effect(\"cfg\") call 1");
    wh_free(&h);
}

/* ---- patches ---- */

/* A new run takes the patch: the core SDK's marker, then TemporalChangeVersion upserted with
 * the patch; a second call answers the same without a marker. Its replay answers 1 again. */
static void patched_in_a_new_run(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Patched",
              "RecordMarker(core_patch, patch_id \"p1\") | UpsertWorkflowSearchAttributes | "
              "ScheduleActivityTask(type New, id 1)");
    assert_string_equal(detail(&h, 0, "deprecated"), "false");
    const Temporal__Api__Common__V1__SearchAttributes *sa =
        h.out.commands[1]->upsert_workflow_search_attributes_command_attributes->search_attributes;
    assert_int_equal(sa->n_indexed_fields, 1);
    assert_string_equal(sa->indexed_fields[0]->key, "TemporalChangeVersion");
    assert_int_equal(sa->indexed_fields[0]->value->data.len, strlen("[\"p1\"]"));
    assert_memory_equal(sa->indexed_fields[0]->value->data.data, "[\"p1\"]", 6);
    wh_answer(&h);
    wh_activity_completed(&h, "1", "null");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Patched", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[1,1]");
    wh_free(&h);
}

/* A run the old code made (no marker) replays the old path: patched() answers 0 and records
 * nothing. */
static void patched_replaying_old_code(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Old", "ScheduleActivityTask(type Old, id 1)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "null");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Patched", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[0,0]");
    wh_free(&h);
}

/* deprecate_patch() records the marker as deprecated; a replay of code that no longer calls
 * anything passes over the marker and its TemporalChangeVersion upsert. */
static void deprecated_marker_passed_over(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Deprecated",
              "RecordMarker(core_patch, patch_id \"p1\") | UpsertWorkflowSearchAttributes | "
              "ScheduleActivityTask(type New, id 1)");
    assert_string_equal(detail(&h, 0, "deprecated"), "true");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "null");
    wh_task(&h, 0);
    wa_expect(&h, reg, "NoPatch", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "\"nopatch\"");
    /* and the code with the patch still replays it: the marker is there */
    wa_expect(&h, reg, "Patched", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[1,1]");
    wh_free(&h);
}

/* A patch marker that is not deprecated must be asked for: code without the call fails as
 * non-deterministic; code with deprecate_patch() replays it. */
static void patch_marker_must_be_asked_for(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Patched",
              "RecordMarker(core_patch, patch_id \"p1\") | UpsertWorkflowSearchAttributes | "
              "ScheduleActivityTask(type New, id 1)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "null");
    wh_task(&h, 0);
    wh_run(&h, reg, "NoPatch", 0);
    nondeterministic(&h, "RecordMarker(core_patch, patch_id \"p1\")");
    wa_expect(&h, reg, "Deprecated", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "\"deprecated\"");
    wh_free(&h);
}

/* Calls checked: a NULL function, an empty id; a side effect's function cannot block
 * (TW_ESTATE) but its result is recorded; one that fails records nothing. */
static void bad_calls_are_refused(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "BadCalls",
              "RecordMarker(SideEffect, side-effect-id 1) | CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[-1,0,-6,-4,-1,-1,-1,-1,-1,-1,-1,-1,-1]");
    wh_free(&h);
}

/* A legacy query runs the code past the history's end: there its calls have no marker to
 * replay and act as live ones (the function runs, the patch is new code), whose commands the
 * query drops; no non-determinism. */
static void legacy_query_past_the_history(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Later", "StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    world("now");
    pb_query *q = wh_query(&h, "__stack_trace", NULL);
    wf_input more = {.queries = &q, .nqueries = 1, .query_only = 1};
    h.shadow.off = 1; /* a legacy query is not checked against a kept run */
    wh_run_with(&h, reg, "Later", &more);
    if (h.out.task_failed)
        fail_msg("the legacy query failed the task: %s", h.out.message);
    assert_int_equal(h.out.ncommands, 0);
    assert_non_null(wh_query_result(&h, 0));
    wh_free(&h);
}

/* ---- hostile markers ----
 * A history's marker details are the network's: unreadable ones fail the task with a message
 * (non-determinism: the call finds no marker it can replay), never a crash (SAN=1 runs these). */

typedef Temporal__Api__History__V1__MarkerRecordedEventAttributes marker_ev;

/* The payloads of detail |key| of |m|, or NULL. */
static pb_payloads *ev_detail(marker_ev *m, const char *key)
{
    for (size_t k = 0; k < m->n_details; k++)
        if (strcmp(m->details[k]->key, key) == 0)
            return m->details[k]->value;
    return NULL;
}

static void set_text(whist *h, pb_payloads *p, const char *text)
{
    char *d = arena_strdup(h->a, text);
    assert_non_null(d);
    p->payloads[0]->data.data = (uint8_t *)d;
    p->payloads[0]->data.len = strlen(d);
}

/* A history of |type| with its first task answered and |finish| done, whose first marker
 * |change| spoils; its replay must fail as non-deterministic (|ok_too|: or complete). */
static void spoiled(const char *type, void (*finish)(whist *), void (*change)(whist *, marker_ev *),
                    int ok_too)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    world("v");
    wh_run(&h, reg, type, 0);
    wh_answer(&h);
    finish(&h);
    wh_task(&h, 0);
    for (size_t i = 0; i < h.n; i++)
        if (h.ev[i]->event_type == EV(MARKER_RECORDED)) {
            change(&h, h.ev[i]->marker_recorded_event_attributes);
            break;
        }
    h.shadow.off = 1; /* a kept run saw the marker before it was spoiled */
    wh_run(&h, reg, type, 0);
    if (!(ok_too && !h.out.task_failed))
        nondeterministic(&h, "non-deterministic");
    wh_free(&h);
}

static void fire_1(whist *h) { wh_timer_fired(h, "1"); }
static void complete_1(whist *h) { wh_activity_completed(h, "1", "null"); }

static void id_not_a_number(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "side-effect-id"), "\"x\""); }
static void id_too_big(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "side-effect-id"), "99999999999999999999"); }
static void no_details(whist *h, marker_ev *m) { m->n_details = 0; }
static void id_no_payloads(whist *h, marker_ev *m) { ev_detail(m, "side-effect-id")->n_payloads = 0; }
static void data_no_payloads(whist *h, marker_ev *m) { ev_detail(m, "data")->n_payloads = 0; }
static void details_null(whist *h, marker_ev *m)
{
    for (size_t k = 0; k < m->n_details; k++)
        m->details[k]->value = NULL;
}
static void mutable_id_plain(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "side-effect-id"), "\"cfg\""); }
static void mutable_counter_text(whist *h, marker_ev *m)
{
    set_text(h, ev_detail(m, "mutable-side-effect-call-counter"), "one");
}
static void patch_id_number(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "patch_id"), "12"); }
static void patch_id_broken(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "patch_id"), "\"p1"); }
static void deprecated_garbage(whist *h, marker_ev *m) { set_text(h, ev_detail(m, "deprecated"), "tru"); }

static void hostile_markers_fail_cleanly(void **st)
{
    spoiled("SideEffects", fire_1, id_not_a_number, 0);
    spoiled("SideEffects", fire_1, id_too_big, 0);
    spoiled("SideEffects", fire_1, no_details, 0);
    spoiled("SideEffects", fire_1, id_no_payloads, 0);
    spoiled("SideEffects", fire_1, details_null, 0);
    spoiled("SideEffects", fire_1, data_no_payloads, 1); /* replays binary/null: no crash */
    spoiled("Mutable", fire_1, mutable_id_plain, 0);
    spoiled("Mutable", fire_1, mutable_counter_text, 0);
    spoiled("Patched", complete_1, patch_id_number, 0);
    spoiled("Patched", complete_1, patch_id_broken, 0);
    spoiled("Patched", complete_1, deprecated_garbage, 1); /* the id is fine: replays */
}

/* ---- histories recorded from the real server ---- */

/* tests/data/features/search_attributes_|name|-0.history, its events as recorded, in |h|. */
static void load_recorded(whist *h, const char *name)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof(path), "tests/data/features/search_attributes_%s-0.history", name);
    char *raw = read_all(path, &len);
    if (!len)
        fail_msg("cannot read %s (tests/features/record-histories.sh records it)", path);
    pb_history *hist =
        temporal__api__history__v1__history__unpack(arena_allocator(h->a), len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(hist);
    for (size_t i = 0; i < hist->n_events; i++) {
        pb_event *e = wh_add(h, (int)hist->events[i]->event_type);
        *e = *hist->events[i];
    }
}

static tw_registry *feature_lib(const char *name)
{
    char rel[128], lib[4096], err[512];
    snprintf(rel, sizeof(rel), "features/search_attributes/%s.so", name);
    if (!realpath(harness_built(rel), lib))
        fail_msg("no %s", harness_built(rel));
    tw_registry *r;
    if (reg_load(&r, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return r;
}

/* Each scenario's history (markers, upserts and their removal, memo changes, an activity with
 * a header) replays to its end with no new command. */
static void recorded_histories_replay(void **st)
{
    static const char *const names[] = {"set", "upsert", "memo_header", "change_version"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tw_registry *r = feature_lib(names[i]);
        whist h;
        wh_init(&h);
        load_recorded(&h, names[i]);
        wh_run(&h, r, "Workflow", 0);
        if (h.out.task_failed || h.out.ncommands)
            fail_msg("%s: want a clean replay, got: %s", names[i], wh_commands(&h));
        wh_free(&h);
        reg_free(r);
    }
}

/* The recorded change_version history with its side effect's id changed: the code's first side
 * effect has no marker, non-determinism. */
static void recorded_history_changed_is_nondeterminism(void **st)
{
    tw_registry *r = feature_lib("change_version");
    whist h;
    wh_init(&h);
    load_recorded(&h, "change_version");
    int changed = 0;
    for (size_t i = 0; i < h.n; i++) {
        Temporal__Api__History__V1__MarkerRecordedEventAttributes *m =
            h.ev[i]->marker_recorded_event_attributes;
        if (h.ev[i]->event_type != EV(MARKER_RECORDED) || strcmp(m->marker_name, "SideEffect"))
            continue;
        for (size_t k = 0; k < m->n_details; k++)
            if (strcmp(m->details[k]->key, "side-effect-id") == 0) {
                m->details[k]->value->payloads[0]->data.data = (uint8_t *)"7";
                changed = 1;
            }
    }
    assert_true(changed);
    wh_run(&h, r, "Workflow", 0);
    nondeterministic(&h, "tw_side_effect call 1 has no SideEffect marker");
    wh_free(&h);
    reg_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(side_effect_runs_once_and_replays),
        cmocka_unit_test(side_effect_without_marker_is_nondeterminism),
        cmocka_unit_test(side_effect_against_another_marker),
        cmocka_unit_test(mutable_side_effect_records_changes),
        cmocka_unit_test(mutable_side_effect_without_marker_is_nondeterminism),
        cmocka_unit_test(patched_in_a_new_run),
        cmocka_unit_test(patched_replaying_old_code),
        cmocka_unit_test(deprecated_marker_passed_over),
        cmocka_unit_test(patch_marker_must_be_asked_for),
        cmocka_unit_test(bad_calls_are_refused),
        cmocka_unit_test(legacy_query_past_the_history),
        cmocka_unit_test(hostile_markers_fail_cleanly),
        cmocka_unit_test(recorded_histories_replay),
        cmocka_unit_test(recorded_history_changed_is_nondeterminism),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
