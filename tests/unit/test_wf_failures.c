/*
 * Failures keep their shape (temporal/engine/payload.c and the engine): tw_failure to the
 * proto and back kind by kind with the cause chain, a failure from an ABI 1.0 library read to
 * its end only, and, on histories built the way the server writes them
 * (tests/support/wf_hist.h) through tests/fixtures/lib_wf_talk.c, activity failures reaching
 * the code with their shape and a failure re-raised with its chain.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_talk.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* Runs the next task of |h| as |type| and checks its commands. */
static void expect(whist *h, const char *type, const char *commands)
{
    wa_expect(h, reg, type, commands);
}

/* ---- failures keep their shape ---- */

#define FCASE(name) TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_##name##_FAILURE_INFO

/* Both ways through the proto, kind by kind, with the cause chain. */
static void failures_keep_their_shape(void **st)
{
    arena *a = arena_new(1 << 20);
    tw_payload seven = tw_json("7"), n1 = tw_json("{\"n\":1}");
    tw_failure timeout = {.kind = TW_FAILURE_TIMEOUT, .message = "hb", .details = &seven,
                          .ndetails = 1, .timeout_type = TW_TIMEOUT_HEARTBEAT};
    tw_failure app = {.type = "Bad", .message = "m", .non_retryable = 1, .details = &n1,
                      .ndetails = 1, .cause = &timeout};
    tw_failure act = {.kind = TW_FAILURE_ACTIVITY, .activity_type = "T", .activity_id = "7",
                      .retry_state = 3, .stack_trace = "at x", .cause = &app};
    tw_failure *copy;
    assert_int_equal(failure_copy_abi(a, &act, 1, &copy), TW_OK);
    pb_failure *pf = failure_to_pb(a, copy);
    assert_non_null(pf);
    assert_int_equal(pf->failure_info_case, FCASE(ACTIVITY));
    assert_string_equal(pf->message, "activity error");
    assert_string_equal(pf->stack_trace, "at x");
    assert_string_equal(pf->activity_failure_info->activity_type->name, "T");
    assert_string_equal(pf->activity_failure_info->activity_id, "7");
    assert_int_equal(pf->activity_failure_info->retry_state, 3);
    assert_int_equal(pf->cause->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(pf->cause->application_failure_info->type, "Bad");
    assert_true(pf->cause->application_failure_info->non_retryable);
    assert_int_equal(pf->cause->cause->failure_info_case, FCASE(TIMEOUT));
    assert_int_equal(pf->cause->cause->timeout_failure_info->timeout_type, TW_TIMEOUT_HEARTBEAT);
    assert_int_equal(pf->cause->cause->timeout_failure_info->last_heartbeat_details->n_payloads, 1);

    tw_failure *back = failure_from_pb(a, pf);
    assert_int_equal(back->kind, TW_FAILURE_ACTIVITY);
    assert_string_equal(back->type, "Bad"); /* an activity's failure shows its cause's */
    assert_string_equal(back->message, "m");
    assert_string_equal(back->activity_type, "T");
    assert_string_equal(back->activity_id, "7");
    assert_int_equal(back->retry_state, 3);
    assert_string_equal(back->stack_trace, "at x");
    assert_int_equal(back->cause->kind, TW_FAILURE_APPLICATION);
    assert_int_equal(back->cause->ndetails, 1);
    assert_memory_equal(back->cause->details[0].data, "{\"n\":1}", 7);
    assert_int_equal(back->cause->cause->kind, TW_FAILURE_TIMEOUT);
    assert_string_equal(back->cause->cause->type, "Timeout");
    assert_int_equal(back->cause->cause->timeout_type, TW_TIMEOUT_HEARTBEAT);
    assert_memory_equal(back->cause->cause->details[0].data, "7", 1);

    /* Every other kind survives the trip. */
    const int kinds[] = {TW_FAILURE_CANCELED, TW_FAILURE_TERMINATED, TW_FAILURE_SERVER,
                         TW_FAILURE_CHILD_WORKFLOW};
    for (size_t i = 0; i < 4; i++) {
        tw_failure k = {.kind = kinds[i], .message = "x", .retry_state = 5};
        back = failure_from_pb(a, failure_to_pb(a, &k));
        assert_int_equal(back->kind, kinds[i]);
    }

    /* Chains are cut at FAILURE_MAX_DEPTH, a loop included. */
    tw_failure loop = {.type = "Loop", .message = "again", .kind = TW_FAILURE_APPLICATION};
    loop.cause = &loop;
    assert_int_equal(failure_copy_abi(a, &loop, 1, &copy), TW_OK);
    int depth = 0;
    for (const tw_failure *c = copy; c; c = c->cause)
        depth++;
    assert_int_equal(depth, FAILURE_MAX_DEPTH);
    pf = failure_to_pb(a, &loop);
    depth = 0;
    for (const pb_failure *c = pf; c; c = c->cause)
        depth++;
    assert_int_equal(depth, FAILURE_MAX_DEPTH);

    /* A kind out of range is refused. */
    tw_failure odd = {.message = "?", .kind = 42};
    assert_int_equal(failure_copy_abi(a, &odd, 1, &copy), TW_EINVAL);
    arena_free(a);
}

/* A library built against ABI 1.0 passes a tw_failure that ends where 1.0's did: nothing past
 * it is read (AddressSanitizer watches the end of this allocation in the SAN=1 build). */
static void a_1_0_failure_is_read_to_its_end_only(void **st)
{
    arena *a = arena_new(1 << 20);
    size_t old = offsetof(tw_failure, kind);
    tw_failure *small = malloc(old);
    assert_non_null(small);
    memcpy(small, &(tw_failure){.type = "Old", .message = "from 1.0", .non_retryable = 1}, old);
    tw_failure *copy;
    assert_int_equal(failure_copy_abi(a, small, 0, &copy), TW_OK);
    assert_string_equal(copy->type, "Old");
    assert_int_equal(copy->kind, TW_FAILURE_APPLICATION);
    assert_null(copy->cause);
    assert_int_equal(failure_copy(a, small, &copy), TW_OK);
    free(small);
    pb_failure *pf = failure_to_pb(a, copy);
    assert_int_equal(pf->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(pf->application_failure_info->type, "Old");
    arena_free(a);
}

/* What workflow code sees of an activity's failure: the activity, why it is not retried, the
 * error it failed with (and that error's cause); a heartbeat timeout with its last details. */
static void activity_failures_reach_the_code_with_their_shape(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "\"fail\"");
    expect(&h, "FailShape", "ScheduleActivityTask(type FailWith, id 1)");
    wh_answer(&h);
    tw_payload n1 = tw_json("{\"n\":1}");
    tw_failure root = {.type = "Root", .message = "root cause"};
    tw_failure bad = {.type = "Bad", .message = "bad input", .non_retryable = 1, .details = &n1,
                      .ndetails = 1, .cause = &root};
    wh_activity_failed_with(&h, "1", &bad, 2); /* RETRY_STATE_NON_RETRYABLE_FAILURE */
    wh_task(&h, 2000);
    expect(&h, "FailShape", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h),
                        "{\"kind\":1,\"type\":\"Bad\",\"message\":\"bad input\","
                        "\"activity\":\"FailWith/1\",\"retry_state\":2,\"timeout_type\":0,"
                        "\"details\":{\"n\":1},\"cause\":{\"kind\":0,\"type\":\"Bad\","
                        "\"message\":\"bad input\",\"cause\":\"Root\"}}");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, "\"timeout\"");
    expect(&h, "FailShape", "ScheduleActivityTask(type Beat, id 1)");
    wh_answer(&h);
    wh_activity_timed_out(&h, "1", TW_TIMEOUT_HEARTBEAT, "7");
    wh_task(&h, 2000);
    expect(&h, "FailShape", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h),
                        "{\"kind\":1,\"type\":\"Timeout\",\"message\":\"activity timeout\","
                        "\"activity\":\"Beat/1\",\"retry_state\":3,\"timeout_type\":4,"
                        "\"details\":7,\"cause\":{\"kind\":3,\"type\":\"Timeout\","
                        "\"message\":\"activity timeout\",\"cause\":\"\"}}");
    wh_free(&h);
}

/* A workflow that fails with the activity's failure as it got it: an ActivityFailure caused by
 * the activity's error, caused by its own cause. */
static void reraised_failure_keeps_its_chain(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Reraise", "ScheduleActivityTask(type FailWith, id 1)");
    wh_answer(&h);
    tw_failure root = {.type = "Root", .message = "root cause"};
    tw_failure bad = {.type = "Bad", .message = "bad input", .cause = &root};
    wh_activity_failed_with(&h, "1", &bad, 4); /* RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED */
    wh_task(&h, 2000);
    expect(&h, "Reraise", "FailWorkflowExecution");
    const pb_failure *f =
        h.out.commands[0]->fail_workflow_execution_command_attributes->failure;
    assert_int_equal(f->failure_info_case, FCASE(ACTIVITY));
    assert_string_equal(f->message, "activity error");
    assert_string_equal(f->activity_failure_info->activity_type->name, "FailWith");
    assert_string_equal(f->activity_failure_info->activity_id, "1");
    assert_int_equal(f->activity_failure_info->retry_state, 4);
    assert_int_equal(f->cause->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(f->cause->application_failure_info->type, "Bad");
    assert_string_equal(f->cause->message, "bad input");
    assert_string_equal(f->cause->cause->application_failure_info->type, "Root");
    assert_null(f->cause->cause->cause);
    wh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failures_keep_their_shape),
        cmocka_unit_test(a_1_0_failure_is_read_to_its_end_only),
        cmocka_unit_test(activity_failures_reach_the_code_with_their_shape),
        cmocka_unit_test(reraised_failure_keeps_its_chain),
    };
    return cmocka_run_group_tests_name("wf_failures", tests, group_setup, group_teardown);
}
