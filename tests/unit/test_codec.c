/*
 * The payload codec's walk (temporal/worker/codec.c) on whole messages, with a test codec that
 * XORs the data and keeps the inner encoding in the metadata ("binary/test"):
 *
 *   - without a codec nothing is copied or walked (the same pointer comes back);
 *   - a workflow task as polled: every payload is decoded (workflow input, memo, signal
 *     input, marker details, activity failure details and its cause's, query arguments, the
 *     update request inside a protocol message's Any), headers and search attributes are not;
 *   - a workflow task completion: the request is copied (the original is untouched), every
 *     payload of the copy is encoded but headers and search attributes, an update response in
 *     an Any included, and decoding the copy gives the original's bytes back;
 *   - failures' message and stack trace go into encoded attributes and come back; a codec that
 *     fails on them leaves "Encoded failure" without attributes;
 *   - a codec's error, or a bad answer, is a message naming the field, never a crash; a cause
 *     chain nested too deep is refused; a request the codec makes larger than the server takes
 *     is refused as too large;
 *   - tw_codec_marshal / tw_codec_unmarshal give a Payload's protobuf bytes (golden).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/api/protocol/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"
#include "temporal/api/workflowservice/v1/request_response.pb-c.h"
#include "temporal/engine/proto.h"
#include "temporal/worker/codec.h"

const tw_api *tw__api;
static tw_api api;

typedef Temporal__Api__Common__V1__Payload pb_payload;
typedef Temporal__Api__Common__V1__Payloads pb_payloads;
typedef Temporal__Api__Failure__V1__Failure pb_failure;
typedef Temporal__Api__History__V1__HistoryEvent pb_event;

/* ---- the test codec ---- */

static int encodes, decodes;
static int fail_on_json; /* encode fails on a json/plain payload whose data starts with '{' */

static const char *meta(const tw_codec_payload *p, const char *key, size_t *len)
{
    for (size_t i = 0; i < p->nmetadata; i++)
        if (!strcmp(p->metadata[i].key, key)) {
            *len = p->metadata[i].len;
            return (const char *)p->metadata[i].value;
        }
    *len = 0;
    return NULL;
}

static uint8_t *xored(tw_codec_ctx *c, const uint8_t *d, size_t n)
{
    uint8_t *out = tw_codec_alloc(c, n);
    for (size_t i = 0; out && i < n; i++)
        out[i] = d[i] ^ 0x5a;
    return out;
}

static int test_encode(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                       tw_codec_payload *out)
{
    size_t elen;
    const char *enc = meta(in, "encoding", &elen);
    if (fail_on_json && enc && elen == 10 && !memcmp(enc, "json/plain", 10) && in->len &&
        in->data[0] == '{') {
        tw_codec_error(c, "no json here");
        return TW_EINVAL;
    }
    tw_metadata *md = tw_codec_alloc(c, 2 * sizeof(*md));
    md[0] = (tw_metadata){"encoding", (const uint8_t *)"binary/test", 11};
    md[1] = (tw_metadata){"inner", (const uint8_t *)enc, elen};
    *out = (tw_codec_payload){.metadata = md, .nmetadata = 2, .data = xored(c, in->data, in->len),
                              .len = in->len};
    encodes++;
    return 0;
}

static int test_decode(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                       tw_codec_payload *out)
{
    size_t elen, ilen;
    const char *enc = meta(in, "encoding", &elen);
    if (!enc || elen != 11 || memcmp(enc, "binary/test", 11))
        return 0; /* not ours: *out is *in */
    const char *inner = meta(in, "inner", &ilen);
    if (!strcmp(arg ? arg : "", "refuse")) {
        tw_codec_error(c, "wrong key");
        return TW_EINVAL;
    }
    tw_metadata *md = tw_codec_alloc(c, sizeof(*md));
    md[0] = (tw_metadata){"encoding", (const uint8_t *)inner, ilen};
    *out = (tw_codec_payload){.metadata = md, .nmetadata = 1, .data = xored(c, in->data, in->len),
                              .len = in->len};
    decodes++;
    return 0;
}

static reg_codec codec = {.codec = {.encode = test_encode, .decode = test_decode}};

static int setup(void **st)
{
    api.codec_alloc = codec_alloc;
    api.codec_error = codec_error;
    api.codec_marshal = codec_marshal;
    api.codec_unmarshal = codec_unmarshal;
    tw__api = &api;
    encodes = decodes = fail_on_json = 0;
    codec.arg = NULL;
    codec.codec.encode_failure_attributes = 0;
    *st = arena_new(64 * 1024 * 1024);
    return *st ? 0 : -1;
}

static int teardown(void **st)
{
    arena_free(*st);
    return 0;
}

/* ---- building messages ---- */

#define NEW(a, type, init) ({ type *m_ = arena_alloc((a), sizeof(type)); init(m_); m_; })

static pb_payload *payload(arena *a, const char *encoding, const char *data)
{
    pb_payload *p = NEW(a, pb_payload, temporal__api__common__v1__payload__init);
    Temporal__Api__Common__V1__Payload__MetadataEntry *e =
        NEW(a, Temporal__Api__Common__V1__Payload__MetadataEntry,
            temporal__api__common__v1__payload__metadata_entry__init);
    e->key = "encoding";
    e->value = (ProtobufCBinaryData){strlen(encoding), (uint8_t *)encoding};
    p->metadata = arena_alloc(a, sizeof(*p->metadata));
    p->metadata[0] = e;
    p->n_metadata = 1;
    p->data = (ProtobufCBinaryData){strlen(data), arena_memdup(a, data, strlen(data) + 1)};
    return p;
}

/* A payload as the test codec writes it (what a client with the same codec sends). */
static pb_payload *sealed(arena *a, const char *encoding, const char *data)
{
    pb_payload *p = payload(a, "binary/test", data);
    for (size_t i = 0; i < p->data.len; i++)
        p->data.data[i] ^= 0x5a;
    Temporal__Api__Common__V1__Payload__MetadataEntry *e =
        NEW(a, Temporal__Api__Common__V1__Payload__MetadataEntry,
            temporal__api__common__v1__payload__metadata_entry__init);
    e->key = "inner";
    e->value = (ProtobufCBinaryData){strlen(encoding), (uint8_t *)encoding};
    Temporal__Api__Common__V1__Payload__MetadataEntry **two = arena_alloc(a, 2 * sizeof(*two));
    two[0] = p->metadata[0];
    two[1] = e;
    p->metadata = two;
    p->n_metadata = 2;
    return p;
}

static pb_payloads *payloads(arena *a, pb_payload *p0, pb_payload *p1)
{
    pb_payloads *ps = NEW(a, pb_payloads, temporal__api__common__v1__payloads__init);
    ps->payloads = arena_alloc(a, 2 * sizeof(*ps->payloads));
    ps->payloads[ps->n_payloads++] = p0;
    if (p1)
        ps->payloads[ps->n_payloads++] = p1;
    return ps;
}

static char *text(arena *a, const pb_payload *p)
{
    char *s = arena_alloc(a, p->data.len + 1);
    memcpy(s, p->data.data, p->data.len);
    s[p->data.len] = '\0';
    return s;
}

static const char *encoding(arena *a, const pb_payload *p)
{
    for (size_t i = 0; i < p->n_metadata; i++)
        if (!strcmp(p->metadata[i]->key, "encoding")) {
            char *s = arena_alloc(a, p->metadata[i]->value.len + 1);
            memcpy(s, p->metadata[i]->value.data, p->metadata[i]->value.len);
            s[p->metadata[i]->value.len] = '\0';
            return s;
        }
    return "";
}

/* |p| is the plain payload (|enc|, |data|). */
static void plain(arena *a, const pb_payload *p, const char *enc, const char *data)
{
    assert_string_equal(encoding(a, p), enc);
    assert_string_equal(text(a, p), data);
    assert_int_equal(p->n_metadata, 1);
}

static pb_failure *failure(arena *a, const char *message, pb_payloads *details, pb_failure *cause)
{
    pb_failure *f = NEW(a, pb_failure, temporal__api__failure__v1__failure__init);
    f->message = (char *)message;
    f->stack_trace = "at work";
    f->cause = cause;
    if (details) {
        Temporal__Api__Failure__V1__ApplicationFailureInfo *i =
            NEW(a, Temporal__Api__Failure__V1__ApplicationFailureInfo,
                temporal__api__failure__v1__application_failure_info__init);
        i->type = "Oops";
        i->details = details;
        f->failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
        f->application_failure_info = i;
    }
    return f;
}

static pb_event *event(arena *a, int64_t id)
{
    pb_event *e = NEW(a, pb_event, temporal__api__history__v1__history_event__init);
    e->event_id = id;
    return e;
}

/* An Any holding |m| packed, under its type's URL. */
static Google__Protobuf__Any *any_of(arena *a, const ProtobufCMessage *m)
{
    Google__Protobuf__Any *any = NEW(a, Google__Protobuf__Any, google__protobuf__any__init);
    char *url = arena_alloc(a, 200);
    snprintf(url, 200, "type.googleapis.com/%s", m->descriptor->name);
    any->type_url = url;
    any->value.len = protobuf_c_message_get_packed_size(m);
    any->value.data = arena_alloc(a, any->value.len + 1);
    protobuf_c_message_pack(m, any->value.data);
    return any;
}

/* ---- a workflow task as polled ---- */

typedef WFS(PollWorkflowTaskQueueResponse) poll_response;

/* A poll response whose every payload the test codec sealed. */
static poll_response *sealed_task(arena *a)
{
    pb_event *started = event(a, 1);
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *sa =
        NEW(a, Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes,
            temporal__api__history__v1__workflow_execution_started_event_attributes__init);
    sa->input = payloads(a, sealed(a, "json/plain", "\"in-0\""), sealed(a, "binary/plain", "in-1"));
    /* memo (decoded), header and search attributes (left alone) */
    Temporal__Api__Common__V1__Memo *memo = NEW(a, Temporal__Api__Common__V1__Memo,
                                                temporal__api__common__v1__memo__init);
    Temporal__Api__Common__V1__Memo__FieldsEntry *me =
        NEW(a, Temporal__Api__Common__V1__Memo__FieldsEntry,
            temporal__api__common__v1__memo__fields_entry__init);
    me->key = "note";
    me->value = sealed(a, "json/plain", "\"memo\"");
    memo->fields = arena_alloc(a, sizeof(*memo->fields));
    memo->fields[memo->n_fields++] = me;
    sa->memo = memo;
    Temporal__Api__Common__V1__Header *h = NEW(a, Temporal__Api__Common__V1__Header,
                                               temporal__api__common__v1__header__init);
    Temporal__Api__Common__V1__Header__FieldsEntry *he =
        NEW(a, Temporal__Api__Common__V1__Header__FieldsEntry,
            temporal__api__common__v1__header__fields_entry__init);
    he->key = "trace";
    he->value = sealed(a, "json/plain", "\"t\"");
    h->fields = arena_alloc(a, sizeof(*h->fields));
    h->fields[h->n_fields++] = he;
    sa->header = h;
    Temporal__Api__Common__V1__SearchAttributes *sx =
        NEW(a, Temporal__Api__Common__V1__SearchAttributes,
            temporal__api__common__v1__search_attributes__init);
    Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *se =
        NEW(a, Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry,
            temporal__api__common__v1__search_attributes__indexed_fields_entry__init);
    se->key = "CustomKeywordField";
    se->value = sealed(a, "json/plain", "\"kw\"");
    sx->indexed_fields = arena_alloc(a, sizeof(*sx->indexed_fields));
    sx->indexed_fields[sx->n_indexed_fields++] = se;
    sa->search_attributes = sx;
    started->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_EXECUTION_STARTED_EVENT_ATTRIBUTES;
    started->workflow_execution_started_event_attributes = sa;

    pb_event *failed = event(a, 2);
    Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *fa =
        NEW(a, Temporal__Api__History__V1__ActivityTaskFailedEventAttributes,
            temporal__api__history__v1__activity_task_failed_event_attributes__init);
    fa->failure = failure(a, "outer", payloads(a, sealed(a, "json/plain", "\"d-outer\""), NULL),
                          failure(a, "inner", payloads(a, sealed(a, "json/plain", "\"d-inner\""),
                                                       NULL), NULL));
    failed->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_ACTIVITY_TASK_FAILED_EVENT_ATTRIBUTES;
    failed->activity_task_failed_event_attributes = fa;

    pb_event *marker = event(a, 3);
    Temporal__Api__History__V1__MarkerRecordedEventAttributes *ma =
        NEW(a, Temporal__Api__History__V1__MarkerRecordedEventAttributes,
            temporal__api__history__v1__marker_recorded_event_attributes__init);
    Temporal__Api__History__V1__MarkerRecordedEventAttributes__DetailsEntry *de =
        NEW(a, Temporal__Api__History__V1__MarkerRecordedEventAttributes__DetailsEntry,
            temporal__api__history__v1__marker_recorded_event_attributes__details_entry__init);
    de->key = "data";
    de->value = payloads(a, sealed(a, "json/plain", "42"), NULL);
    ma->details = arena_alloc(a, sizeof(*ma->details));
    ma->details[ma->n_details++] = de;
    marker->attributes_case =
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES;
    marker->marker_recorded_event_attributes = ma;

    Temporal__Api__History__V1__History *hist = NEW(a, Temporal__Api__History__V1__History,
                                                     temporal__api__history__v1__history__init);
    hist->events = arena_alloc(a, 3 * sizeof(*hist->events));
    hist->events[hist->n_events++] = started;
    hist->events[hist->n_events++] = failed;
    hist->events[hist->n_events++] = marker;

    poll_response *t = NEW(a, poll_response,
                           temporal__api__workflowservice__v1__poll_workflow_task_queue_response__init);
    t->history = hist;
    /* a query, and an update request in a protocol message */
    Temporal__Api__Query__V1__WorkflowQuery *q = NEW(a, Temporal__Api__Query__V1__WorkflowQuery,
                                                     temporal__api__query__v1__workflow_query__init);
    q->query_type = "state";
    q->query_args = payloads(a, sealed(a, "json/plain", "\"q\""), NULL);
    WFS(PollWorkflowTaskQueueResponse__QueriesEntry) *qe =
        NEW(a, WFS(PollWorkflowTaskQueueResponse__QueriesEntry),
            temporal__api__workflowservice__v1__poll_workflow_task_queue_response__queries_entry__init);
    qe->key = "q1";
    qe->value = q;
    t->queries = arena_alloc(a, sizeof(*t->queries));
    t->queries[t->n_queries++] = qe;
    Temporal__Api__Update__V1__Input *ui = NEW(a, Temporal__Api__Update__V1__Input,
                                               temporal__api__update__v1__input__init);
    ui->name = "add";
    ui->args = payloads(a, sealed(a, "json/plain", "7"), NULL);
    Temporal__Api__Update__V1__Request *ur = NEW(a, Temporal__Api__Update__V1__Request,
                                                 temporal__api__update__v1__request__init);
    ur->input = ui;
    Temporal__Api__Protocol__V1__Message *msg = NEW(a, Temporal__Api__Protocol__V1__Message,
                                                    temporal__api__protocol__v1__message__init);
    msg->id = "m1";
    msg->body = any_of(a, &ur->base);
    t->messages = arena_alloc(a, sizeof(*t->messages));
    t->messages[t->n_messages++] = msg;
    return t;
}

static void no_codec_no_walk_no_copy(void **st)
{
    arena *a = *st;
    poll_response *t = sealed_task(a);
    char err[400];
    assert_int_equal(codec_decode(NULL, a, &t->base, err, sizeof(err)), 0);
    const ProtobufCMessage *out = NULL;
    assert_int_equal(codec_encode(NULL, a, &t->base, &out, err, sizeof(err)), 0);
    assert_ptr_equal(out, &t->base);
    /* a codec that only decodes encodes nothing either */
    reg_codec dec_only = {.codec = {.decode = test_decode}};
    assert_int_equal(codec_encode(&dec_only, a, &t->base, &out, err, sizeof(err)), 0);
    assert_ptr_equal(out, &t->base);
    assert_int_equal(encodes + decodes, 0);
    assert_string_equal(encoding(a, t->history->events[0]
                                    ->workflow_execution_started_event_attributes->input
                                    ->payloads[0]), "binary/test");
}

static void decodes_every_payload_of_a_task(void **st)
{
    arena *a = *st;
    poll_response *t = sealed_task(a);
    char err[400];
    assert_int_equal(codec_decode(&codec, a, &t->base, err, sizeof(err)), 0);
    Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *sa =
        t->history->events[0]->workflow_execution_started_event_attributes;
    plain(a, sa->input->payloads[0], "json/plain", "\"in-0\"");
    plain(a, sa->input->payloads[1], "binary/plain", "in-1");
    plain(a, sa->memo->fields[0]->value, "json/plain", "\"memo\"");
    /* left alone, as the official SDKs do */
    assert_string_equal(encoding(a, sa->header->fields[0]->value), "binary/test");
    assert_string_equal(encoding(a, sa->search_attributes->indexed_fields[0]->value), "binary/test");
    pb_failure *f = t->history->events[1]->activity_task_failed_event_attributes->failure;
    plain(a, f->application_failure_info->details->payloads[0], "json/plain", "\"d-outer\"");
    plain(a, f->cause->application_failure_info->details->payloads[0], "json/plain", "\"d-inner\"");
    plain(a, t->history->events[2]->marker_recorded_event_attributes->details[0]->value->payloads[0],
          "json/plain", "42");
    plain(a, t->queries[0]->value->query_args->payloads[0], "json/plain", "\"q\"");
    /* the update request, inside its Any */
    Temporal__Api__Update__V1__Request *ur = temporal__api__update__v1__request__unpack(
        arena_allocator(a), t->messages[0]->body->value.len, t->messages[0]->body->value.data);
    assert_non_null(ur);
    assert_string_equal(ur->input->name, "add");
    plain(a, ur->input->args->payloads[0], "json/plain", "7");
    assert_int_equal(decodes, 8); /* the header and search attribute: not */
}

/* ---- a workflow task completion ---- */

typedef WFS(RespondWorkflowTaskCompletedRequest) completion;

static completion *plain_completion(arena *a)
{
    completion *req = NEW(a, completion,
                          temporal__api__workflowservice__v1__respond_workflow_task_completed_request__init);
    req->commands = arena_alloc(a, 3 * sizeof(*req->commands));
    Temporal__Api__Command__V1__Command *c = NEW(a, Temporal__Api__Command__V1__Command,
                                                 temporal__api__command__v1__command__init);
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *s =
        NEW(a, Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes,
            temporal__api__command__v1__schedule_activity_task_command_attributes__init);
    s->activity_id = "1";
    s->input = payloads(a, payload(a, "json/plain", "\"arg\""), NULL);
    Temporal__Api__Common__V1__Header *h = NEW(a, Temporal__Api__Common__V1__Header,
                                               temporal__api__common__v1__header__init);
    Temporal__Api__Common__V1__Header__FieldsEntry *he =
        NEW(a, Temporal__Api__Common__V1__Header__FieldsEntry,
            temporal__api__common__v1__header__fields_entry__init);
    he->key = "trace";
    he->value = payload(a, "json/plain", "\"t\"");
    h->fields = arena_alloc(a, sizeof(*h->fields));
    h->fields[h->n_fields++] = he;
    s->header = h;
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    c->schedule_activity_task_command_attributes = s;
    req->commands[req->n_commands++] = c;

    c = NEW(a, Temporal__Api__Command__V1__Command, temporal__api__command__v1__command__init);
    Temporal__Api__Command__V1__UpsertWorkflowSearchAttributesCommandAttributes *u =
        NEW(a, Temporal__Api__Command__V1__UpsertWorkflowSearchAttributesCommandAttributes,
            temporal__api__command__v1__upsert_workflow_search_attributes_command_attributes__init);
    Temporal__Api__Common__V1__SearchAttributes *sx =
        NEW(a, Temporal__Api__Common__V1__SearchAttributes,
            temporal__api__common__v1__search_attributes__init);
    Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *se =
        NEW(a, Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry,
            temporal__api__common__v1__search_attributes__indexed_fields_entry__init);
    se->key = "CustomKeywordField";
    se->value = payload(a, "json/plain", "\"kw\"");
    sx->indexed_fields = arena_alloc(a, sizeof(*sx->indexed_fields));
    sx->indexed_fields[sx->n_indexed_fields++] = se;
    u->search_attributes = sx;
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_COMMAND_ATTRIBUTES;
    c->upsert_workflow_search_attributes_command_attributes = u;
    req->commands[req->n_commands++] = c;

    c = NEW(a, Temporal__Api__Command__V1__Command, temporal__api__command__v1__command__init);
    Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes *cw =
        NEW(a, Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes,
            temporal__api__command__v1__complete_workflow_execution_command_attributes__init);
    cw->result = payloads(a, payload(a, "json/plain", "\"done\""), NULL);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    c->complete_workflow_execution_command_attributes = cw;
    req->commands[req->n_commands++] = c;

    /* an update's answer, in a protocol message */
    Temporal__Api__Update__V1__Outcome *o = NEW(a, Temporal__Api__Update__V1__Outcome,
                                                temporal__api__update__v1__outcome__init);
    o->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
    o->success = payloads(a, payload(a, "json/plain", "8"), NULL);
    Temporal__Api__Update__V1__Response *ur = NEW(a, Temporal__Api__Update__V1__Response,
                                                  temporal__api__update__v1__response__init);
    ur->outcome = o;
    Temporal__Api__Protocol__V1__Message *msg = NEW(a, Temporal__Api__Protocol__V1__Message,
                                                    temporal__api__protocol__v1__message__init);
    msg->id = "m1/complete";
    msg->body = any_of(a, &ur->base);
    req->messages = arena_alloc(a, sizeof(*req->messages));
    req->messages[req->n_messages++] = msg;
    return req;
}

static uint8_t *packed(arena *a, const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = arena_alloc(a, *len + 1);
    protobuf_c_message_pack(m, b);
    return b;
}

static void encodes_a_copy_of_a_completion(void **st)
{
    arena *a = *st;
    completion *req = plain_completion(a);
    size_t before_len, after_len, back_len;
    uint8_t *before = packed(a, &req->base, &before_len);
    const ProtobufCMessage *out;
    char err[400];
    assert_int_equal(codec_encode(&codec, a, &req->base, &out, err, sizeof(err)), 0);
    assert_ptr_not_equal(out, &req->base);
    uint8_t *after = packed(a, &req->base, &after_len); /* the original is untouched */
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    const completion *enc = (const completion *)out;
    assert_string_equal(encoding(a, enc->commands[0]->schedule_activity_task_command_attributes
                                        ->input->payloads[0]), "binary/test");
    assert_string_equal(encoding(a, enc->commands[0]->schedule_activity_task_command_attributes
                                        ->header->fields[0]->value), "json/plain");
    assert_string_equal(encoding(a, enc->commands[1]->upsert_workflow_search_attributes_command_attributes
                                        ->search_attributes->indexed_fields[0]->value), "json/plain");
    assert_string_equal(encoding(a, enc->commands[2]->complete_workflow_execution_command_attributes
                                        ->result->payloads[0]), "binary/test");
    Temporal__Api__Update__V1__Response *ur = temporal__api__update__v1__response__unpack(
        arena_allocator(a), enc->messages[0]->body->value.len, enc->messages[0]->body->value.data);
    assert_non_null(ur);
    assert_string_equal(encoding(a, ur->outcome->success->payloads[0]), "binary/test");
    assert_int_equal(encodes, 3);
    /* what a client with the same codec reads: the original's bytes */
    assert_int_equal(codec_decode(&codec, a, (ProtobufCMessage *)out, err, sizeof(err)), 0);
    uint8_t *back = packed(a, out, &back_len);
    assert_int_equal(back_len, before_len);
    assert_memory_equal(back, before, before_len);
}

/* ---- failures ---- */

typedef WFS(RespondActivityTaskFailedRequest) act_failed;

static act_failed *failed_request(arena *a)
{
    act_failed *req = NEW(a, act_failed,
                          temporal__api__workflowservice__v1__respond_activity_task_failed_request__init);
    req->failure = failure(a, "main error", payloads(a, payload(a, "json/plain", "1"), NULL),
                           failure(a, "cause error", NULL, NULL));
    return req;
}

static void failure_attributes_go_and_come_back(void **st)
{
    arena *a = *st;
    codec.codec.encode_failure_attributes = 1;
    act_failed *req = failed_request(a);
    const ProtobufCMessage *out;
    char err[400];
    assert_int_equal(codec_encode(&codec, a, &req->base, &out, err, sizeof(err)), 0);
    const act_failed *enc = (const act_failed *)out;
    for (const pb_failure *f = enc->failure; f; f = f->cause) {
        assert_string_equal(f->message, "Encoded failure");
        assert_string_equal(f->stack_trace, "");
        assert_non_null(f->encoded_attributes);
        assert_string_equal(encoding(a, f->encoded_attributes), "binary/test");
    }
    assert_string_equal(req->failure->message, "main error"); /* the original is untouched */
    assert_int_equal(encodes, 3); /* the details and both failures' attributes */
    assert_int_equal(codec_decode(&codec, a, (ProtobufCMessage *)out, err, sizeof(err)), 0);
    assert_string_equal(enc->failure->message, "main error");
    assert_string_equal(enc->failure->stack_trace, "at work");
    assert_string_equal(enc->failure->cause->message, "cause error");
    plain(a, enc->failure->encoded_attributes, "json/plain",
          "{\"message\":\"main error\",\"stack_trace\":\"at work\"}");
    plain(a, enc->failure->application_failure_info->details->payloads[0], "json/plain", "1");
}

static void attributes_a_codec_refuses_are_dropped(void **st)
{
    arena *a = *st;
    codec.codec.encode_failure_attributes = 1;
    fail_on_json = 1; /* refuses the {"message":...} payloads, encodes the detail "1" */
    act_failed *req = failed_request(a);
    const ProtobufCMessage *out;
    char err[400];
    assert_int_equal(codec_encode(&codec, a, &req->base, &out, err, sizeof(err)), 0);
    const act_failed *enc = (const act_failed *)out;
    for (const pb_failure *f = enc->failure; f; f = f->cause) {
        assert_string_equal(f->message, "Encoded failure");
        assert_null(f->encoded_attributes);
    }
    assert_string_equal(encoding(a, enc->failure->application_failure_info->details->payloads[0]),
                        "binary/test");
}

static void no_codec_functions_only_attributes(void **st)
{
    arena *a = *st;
    reg_codec attrs_only = {.codec = {.encode_failure_attributes = 1}};
    act_failed *req = failed_request(a);
    const ProtobufCMessage *out;
    char err[400];
    assert_int_equal(codec_encode(&attrs_only, a, &req->base, &out, err, sizeof(err)), 0);
    const act_failed *enc = (const act_failed *)out;
    plain(a, enc->failure->encoded_attributes, "json/plain",
          "{\"message\":\"main error\",\"stack_trace\":\"at work\"}");
    plain(a, enc->failure->cause->encoded_attributes, "json/plain",
          "{\"message\":\"cause error\",\"stack_trace\":\"at work\"}");
    plain(a, enc->failure->application_failure_info->details->payloads[0], "json/plain", "1");
    assert_int_equal(codec_decode(&attrs_only, a, (ProtobufCMessage *)out, err, sizeof(err)), 0);
    assert_string_equal(enc->failure->cause->message, "cause error");
}

/* ---- errors ---- */

static void a_codec_error_names_the_field(void **st)
{
    arena *a = *st;
    codec.arg = "refuse";
    poll_response *t = sealed_task(a);
    char err[400] = "";
    assert_int_equal(codec_decode(&codec, a, &t->base, err, sizeof(err)), -1);
    assert_string_equal(err, "payload codec: decode of WorkflowExecutionStartedEventAttributes.input "
                             "failed: wrong key");
}

static int bad_answer(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                      tw_codec_payload *out)
{
    *out = (tw_codec_payload){.metadata = NULL, .nmetadata = 3, .data = in->data, .len = in->len};
    return 0;
}

static int silent_error(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                        tw_codec_payload *out)
{
    return -1;
}

static void bad_answers_are_errors(void **st)
{
    arena *a = *st;
    reg_codec bad = {.codec = {.encode = bad_answer}};
    completion *req = plain_completion(a);
    const ProtobufCMessage *out;
    char err[400] = "";
    assert_int_equal(codec_encode(&bad, a, &req->base, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "payload codec: encode of ScheduleActivityTaskCommandAttributes.input: "
                                "it returned metadata entries without their array"));
    reg_codec silent = {.codec = {.decode = silent_error}};
    poll_response *t = sealed_task(a);
    assert_int_equal(codec_decode(&silent, a, &t->base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "failed: the codec returned an error"));
}

static int inflate(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    size_t n = 5u << 20;
    uint8_t *d = tw_codec_alloc(c, n);
    if (!d)
        return TW_ENOMEM;
    memset(d, 'x', n);
    *out = *in;
    out->data = d;
    out->len = n;
    return 0;
}

/* The caller checked the request's size before encoding; a codec that makes it larger than
 * the server takes is caught here (the workflow task then fails as too large). */
static void over_the_limit_once_encoded(void **st)
{
    arena *a = *st;
    reg_codec big = {.codec = {.encode = inflate}};
    completion *req = plain_completion(a);
    const ProtobufCMessage *out;
    char err[400] = "";
    assert_int_equal(codec_encode(&big, a, &req->base, &out, err, sizeof(err)), CODEC_ETOOLARGE);
    assert_non_null(strstr(err, "payload codec: the encoded RespondWorkflowTaskCompletedRequest is "));
    assert_non_null(strstr(err, "over the 4194304-byte (4 MiB) limit"));
    grpc_status gs;
    assert_int_equal(codec_refusal(&gs, CODEC_ETOOLARGE, err), GRPC_RESOURCE_EXHAUSTED);
    assert_true(codec_refused(GRPC_RESOURCE_EXHAUSTED, &gs));
    gs.attempts = 1; /* the server's own answer is not a refusal */
    assert_false(codec_refused(GRPC_RESOURCE_EXHAUSTED, &gs));
}

static void too_deep_is_refused(void **st)
{
    arena *a = *st;
    act_failed *req = failed_request(a);
    for (int i = 0; i < 100; i++)
        req->failure = failure(a, "again", NULL, req->failure);
    char err[400] = "";
    assert_int_equal(codec_decode(&codec, a, &req->base, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nested deeper than"));
}

static void an_unreadable_update_body_fails_decode(void **st)
{
    arena *a = *st;
    poll_response *t = sealed_task(a);
    t->messages[0]->body->value = (ProtobufCBinaryData){3, (uint8_t *)"\x0a\xff\x01"};
    char err[400] = "";
    assert_int_equal(codec_decode(&codec, a, &t->base, err, sizeof(err)), -1);
    assert_string_equal(err, "payload codec: a temporal.api.update.v1.Request body could not be read");
}

/* ---- marshal, unmarshal ---- */

static int marshal_fn(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                      tw_codec_payload *out)
{
    const uint8_t *b;
    size_t len;
    assert_int_equal(tw_codec_marshal(c, in, &b, &len), 0);
    /* field 1 (a map entry: key "encoding", value "json/plain"), field 2 (the data) */
    static const char golden[] = "\x0a\x16\x0a\x08" "encoding" "\x12\x0a" "json/plain"
                                 "\x12\x0d" "{\"spec\":true}";
    assert_int_equal(len, sizeof(golden) - 1);
    assert_memory_equal(b, golden, len);
    tw_codec_payload back;
    assert_int_equal(tw_codec_unmarshal(c, b, len, &back), 0);
    assert_int_equal(back.nmetadata, 1);
    assert_string_equal(back.metadata[0].key, "encoding");
    assert_int_equal(back.len, 13);
    assert_memory_equal(back.data, "{\"spec\":true}", 13);
    assert_int_equal(tw_codec_unmarshal(c, (const uint8_t *)"\x0a\xff", 2, &back), TW_EINVAL);
    *out = back;
    return 0;
}

static void marshal_gives_payload_bytes(void **st)
{
    arena *a = *st;
    reg_codec m = {.codec = {.encode = marshal_fn}};
    WFS(RespondActivityTaskCompletedRequest) *req =
        NEW(a, WFS(RespondActivityTaskCompletedRequest),
            temporal__api__workflowservice__v1__respond_activity_task_completed_request__init);
    req->result = payloads(a, payload(a, "json/plain", "{\"spec\":true}"), NULL);
    const ProtobufCMessage *out;
    char err[400];
    assert_int_equal(codec_encode(&m, a, &req->base, &out, err, sizeof(err)), 0);
    plain(a, ((const WFS(RespondActivityTaskCompletedRequest) *)out)->result->payloads[0],
          "json/plain", "{\"spec\":true}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_codec_no_walk_no_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_every_payload_of_a_task, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_a_copy_of_a_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_attributes_go_and_come_back, setup, teardown),
        cmocka_unit_test_setup_teardown(attributes_a_codec_refuses_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(no_codec_functions_only_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(a_codec_error_names_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_answers_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(over_the_limit_once_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(too_deep_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_update_body_fails_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(marshal_gives_payload_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
