/*
 * Search attributes, memo and headers in the engine (temporal/engine/props.c) on histories
 * built task by task the way the server writes them (tests/support/wf_hist.h), through
 * tests/fixtures/lib_wf_marker.c: what the started event carries, the typed upserts encoded as
 * the official SDKs encode them (json/plain with the "type" metadata; a removal as binary/null
 * without one), reading back after an upsert in the same task and on replay, the server's
 * recorded values winning on replay, the memo's ModifyWorkflowProperties, and the header set by
 * the code going out on the activity's command. Every run is also checked against a run kept
 * between tasks (wf_shadow.h).
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

typedef Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes started_attrs;
typedef Temporal__Api__Common__V1__SearchAttributes pb_search_attributes;

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_marker.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

static void *mem(whist *h, size_t n)
{
    void *p = arena_alloc(h->a, n);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static started_attrs *started(whist *h)
{
    return h->ev[0]->workflow_execution_started_event_attributes;
}

/* A json/plain payload of |json| with metadata "type" |type| (NULL: none), in |h|'s arena. */
static pb_payload *payload(whist *h, const char *json, const char *type)
{
    tw_payload p = tw_json(arena_strdup(h->a, json));
    pb_payload *pb = payload_to_pb(h->a, &p);
    assert_non_null(pb);
    if (type) {
        pb_metadata_entry **md = mem(h, (pb->n_metadata + 1) * sizeof(*md));
        memcpy(md, pb->metadata, pb->n_metadata * sizeof(*md));
        md[pb->n_metadata] = mem(h, sizeof(**md));
        temporal__api__common__v1__payload__metadata_entry__init(md[pb->n_metadata]);
        md[pb->n_metadata]->key = "type";
        md[pb->n_metadata]->value.data = (uint8_t *)type;
        md[pb->n_metadata]->value.len = strlen(type);
        pb->metadata = md;
        pb->n_metadata++;
    }
    return pb;
}

/* The metadata |key| of |p| as text, "" when absent. */
static const char *metadata(const pb_payload *p, const char *key)
{
    static char buf[64];
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_metadata; i++)
        if (strcmp(p->metadata[i]->key, key) == 0)
            snprintf(buf, sizeof(buf), "%.*s", (int)p->metadata[i]->value.len,
                     (const char *)p->metadata[i]->value.data);
    return buf;
}

static const char *data(const pb_payload *p)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "%.*s", (int)p->data.len, (const char *)p->data.data);
    return buf;
}

/* The upsert of the |i|-th command of the last answer: field |name|. */
static const pb_payload *upserted(const whist *h, size_t i, const char *name)
{
    assert_true(i < h->out.ncommands);
    const pb_search_attributes *sa =
        h->out.commands[i]->upsert_workflow_search_attributes_command_attributes->search_attributes;
    for (size_t k = 0; k < sa->n_indexed_fields; k++)
        if (strcmp(sa->indexed_fields[k]->key, name) == 0)
            return sa->indexed_fields[k]->value;
    fail_msg("no %s in the upsert", name);
    return NULL;
}

/* The started event's search attribute |name| = |json| of |type|. */
static void start_attribute(whist *h, const char *name, const char *json, const char *type)
{
    pb_search_attributes *sa = mem(h, sizeof(*sa));
    temporal__api__common__v1__search_attributes__init(sa);
    sa->indexed_fields = mem(h, sizeof(*sa->indexed_fields));
    sa->indexed_fields[0] = mem(h, sizeof(*sa->indexed_fields[0]));
    temporal__api__common__v1__search_attributes__indexed_fields_entry__init(sa->indexed_fields[0]);
    sa->indexed_fields[0]->key = (char *)name;
    sa->indexed_fields[0]->value = payload(h, json, type);
    sa->n_indexed_fields = 1;
    started(h)->search_attributes = sa;
}

/* Each type as the official SDKs send it; read back at once and after replay; the start's
 * value read as the server holds it; a removal. */
static void search_attributes_typed_upserts(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    start_attribute(&h, "CustomKeywordField", "\"silver\"", "Keyword");
    wa_expect(&h, reg, "Attrs", "UpsertWorkflowSearchAttributes | StartTimer(id 1)");
    static const char *const want[][3] = {
        {"CustomKeywordField", "\"gold\"", "Keyword"},
        {"CustomTextField", "\"some \\\"quoted\\\" text\"", "Text"},
        {"CustomIntField", "-9007199254740993", "Int"},
        {"CustomDoubleField", "2.5", "Double"},
        {"CustomBoolField", "true", "Bool"},
        {"CustomDatetimeField", "\"2024-05-01T10:00:00.25Z\"", "Datetime"},
        {"CustomStringField", "[\"red\",\"green\"]", "KeywordList"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const pb_payload *p = upserted(&h, 0, want[i][0]);
        assert_string_equal(data(p), want[i][1]);
        assert_string_equal(metadata(p, "encoding"), "json/plain");
        assert_string_equal(metadata(p, "type"), want[i][2]);
    }
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Attrs", "UpsertWorkflowSearchAttributes | CompleteWorkflowExecution");
    const pb_payload *gone = upserted(&h, 0, "CustomIntField");
    assert_string_equal(metadata(gone, "encoding"), "binary/null");
    assert_string_equal(metadata(gone, "type"), "");
    assert_int_equal(gone->data.len, 0);
    assert_string_equal(wa_result(&h), "[\"silver\",\"gold\",-9007199254740993,null,"
                                       "\"2024-05-01T10:00:00.25Z\",[\"red\",\"green\"]]");
    wh_free(&h);
}

/* On replay the recorded upsert brings the state to what the server holds: a value the
 * history says differently (here the datetime) is read as the history has it. */
static void search_attributes_follow_the_history(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Attrs", "UpsertWorkflowSearchAttributes | StartTimer(id 1)");
    wh_answer(&h);
    pb_event *up = NULL;
    for (size_t i = 0; i < h.n; i++)
        if (h.ev[i]->event_type == EV(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES))
            up = h.ev[i];
    assert_non_null(up);
    pb_search_attributes *sa = up->upsert_workflow_search_attributes_event_attributes->search_attributes;
    for (size_t k = 0; k < sa->n_indexed_fields; k++)
        if (strcmp(sa->indexed_fields[k]->key, "CustomDatetimeField") == 0)
            sa->indexed_fields[k]->value = payload(&h, "\"2000-01-01T00:00:00Z\"", "Datetime");
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Attrs", "UpsertWorkflowSearchAttributes | CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[null,\"gold\",-9007199254740993,null,"
                                       "\"2000-01-01T00:00:00Z\",[\"red\",\"green\"]]");
    wh_free(&h);
}

/* The memo of the start read; a field upserted and one removed (an empty payload, as the API
 * asks), each one ModifyWorkflowProperties; read back at once and on replay. */
static void memo_read_and_modified(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    Temporal__Api__Common__V1__Memo *m = mem(&h, sizeof(*m));
    temporal__api__common__v1__memo__init(m);
    m->fields = mem(&h, sizeof(*m->fields));
    m->fields[0] = mem(&h, sizeof(*m->fields[0]));
    temporal__api__common__v1__memo__fields_entry__init(m->fields[0]);
    m->fields[0]->key = "note";
    m->fields[0]->value = payload(&h, "\"hi\"", NULL);
    m->n_fields = 1;
    started(&h)->memo = m;
    wa_expect(&h, reg, "Memo",
              "ModifyWorkflowProperties | ModifyWorkflowProperties | StartTimer(id 1)");
    const Temporal__Api__Common__V1__Memo *set =
        h.out.commands[0]->modify_workflow_properties_command_attributes->upserted_memo;
    assert_string_equal(set->fields[0]->key, "status");
    assert_string_equal(data(set->fields[0]->value), "\"done\"");
    const Temporal__Api__Common__V1__Memo *removed =
        h.out.commands[1]->modify_workflow_properties_command_attributes->upserted_memo;
    assert_string_equal(removed->fields[0]->key, "note");
    assert_int_equal(removed->fields[0]->value->data.len, 0);
    assert_int_equal(removed->fields[0]->value->n_metadata, 0);
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Memo", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[\"hi\",\"done\",null,\"done\"]");
    wh_free(&h);
}

/* The start's header read; what the code sets goes out on the activity's command. */
static void header_set_goes_on_the_activity(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    Temporal__Api__Common__V1__Header *hd = mem(&h, sizeof(*hd));
    temporal__api__common__v1__header__init(hd);
    hd->fields = mem(&h, sizeof(*hd->fields));
    hd->fields[0] = mem(&h, sizeof(*hd->fields[0]));
    temporal__api__common__v1__header__fields_entry__init(hd->fields[0]);
    hd->fields[0]->key = "trace-id";
    hd->fields[0]->value = payload(&h, "\"abc-123\"", NULL);
    hd->n_fields = 1;
    started(&h)->header = hd;
    wa_expect(&h, reg, "Trace", "ScheduleActivityTask(type Traced, id 1)");
    const Temporal__Api__Common__V1__Header *out =
        h.out.commands[0]->schedule_activity_task_command_attributes->header;
    assert_non_null(out);
    assert_int_equal(out->n_fields, 2);
    int seen = 0;
    for (size_t i = 0; i < out->n_fields; i++) {
        if (strcmp(out->fields[i]->key, "trace-id") == 0)
            assert_string_equal(data(out->fields[i]->value), "\"abc-123\""), seen |= 1;
        if (strcmp(out->fields[i]->key, "hop") == 0)
            assert_string_equal(data(out->fields[i]->value), "\"wf\""), seen |= 2;
        assert_string_equal(metadata(out->fields[i]->value, "encoding"), "json/plain");
    }
    assert_int_equal(seen, 3);
    wh_answer(&h);
    wh_activity_completed(&h, "1", "null");
    wh_task(&h, 0);
    wa_expect(&h, reg, "Trace", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "\"abc-123\"");
    wh_free(&h);
}

/* Without a header at the start, nothing is read and only what the code set goes out. */
static void no_header(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Trace", "ScheduleActivityTask(type Traced, id 1)");
    const Temporal__Api__Common__V1__Header *out =
        h.out.commands[0]->schedule_activity_task_command_attributes->header;
    assert_non_null(out);
    assert_int_equal(out->n_fields, 1);
    assert_string_equal(out->fields[0]->key, "hop");
    wh_free(&h);
}

/* A signal to another workflow carries the header set at the time; removing the field takes it
 * off the next command. */
static void header_goes_on_signals(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "TraceSignal",
              "SignalExternalWorkflowExecution(workflow other, signal ping) | "
              "SignalExternalWorkflowExecution(workflow another, signal ping)");
    const Temporal__Api__Common__V1__Header *first =
        h.out.commands[0]->signal_external_workflow_execution_command_attributes->header;
    assert_non_null(first);
    assert_int_equal(first->n_fields, 1);
    assert_string_equal(first->fields[0]->key, "hop");
    assert_string_equal(data(first->fields[0]->value), "\"signal\"");
    assert_null(h.out.commands[1]->signal_external_workflow_execution_command_attributes->header);
    wh_answer(&h);
    wh_external_signaled(&h, "other");
    wh_external_signaled(&h, "another");
    wh_task(&h, 0);
    wa_expect(&h, reg, "TraceSignal", "CompleteWorkflowExecution");
    wh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(search_attributes_typed_upserts),
        cmocka_unit_test(search_attributes_follow_the_history),
        cmocka_unit_test(memo_read_and_modified),
        cmocka_unit_test(header_set_goes_on_the_activity),
        cmocka_unit_test(no_header),
        cmocka_unit_test(header_goes_on_signals),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
