/*
 * Integration: the gRPC channel (temporal/net/grpc.c) against the real Temporal server, with the
 * official Go SDK (tw-driver) as the independent client that starts and checks workflows.
 * GetSystemInfo, DescribeNamespace, a workflow reaching a C poll with its whole history (paged
 * when long), completing it from C, eight polls at once on one connection, the server killed
 * and restarted during a long poll, connections aged out by the server (GOAWAY), TLS and mTLS.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "temporal/net/grpc.h"
#include "temporal/engine/proto.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define NS "default"

static tserver srv; /* plaintext server shared by the group */

static int group_setup(void **st)
{
    /* The server ages connections out quickly so GOAWAY is exercised. */
    const char *args[] = {"--max-connection-age", "4s", NULL};
    return tserver_start(&srv, 0, NULL, args);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

static grpc_channel *open_channel(const tserver *s, const grpc_config *base)
{
    grpc_config cfg = base ? *base : (grpc_config){0};
    cfg.host = "127.0.0.1";
    cfg.port = s->port;
    cfg.namespace_name = NS;
    grpc_channel *ch = NULL;
    char err[512];
    if (grpc_channel_new(&ch, &cfg, err, sizeof(err)) != GRPC_OK)
        fail_msg("channel: %s", err);
    return ch;
}

static cJSON *driver_json(const tserver *s, const char *const *args)
{
    char *why;
    cJSON *o = driver_json_of(s, args, &why);
    if (!o)
        fail_msg("%s", why);
    return o;
}

static void unique(char *out, size_t n, const char *prefix)
{
    static int seq;
    snprintf(out, n, "%s-%d-%d", prefix, (int)getpid(), ++seq);
}

static void get_system_info(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    WFS(GetSystemInfoRequest) req;
    PB_INIT(WFS_DESC(get_system_info_request), &req);
    ProtobufCMessage *resp;
    grpc_status s;
    int code = grpc_unary(ch, "GetSystemInfo", 0, &req.base,
                          &WFS_DESC(get_system_info_response), NULL, &resp, 10000, &s);
    assert_int_equal(code, GRPC_OK);
    WFS(GetSystemInfoResponse) *r = (void *)resp;
    assert_non_null(r->server_version);
    assert_string_equal(r->server_version, "1.31.2");
    assert_non_null(r->capabilities);
    protobuf_c_message_free_unpacked(resp, NULL);
    grpc_channel_free(ch);
}

static void describe_namespace(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    WFS(DescribeNamespaceRequest) req;
    PB_INIT(WFS_DESC(describe_namespace_request), &req);
    req.namespace_ = NS;
    ProtobufCMessage *resp;
    grpc_status s;
    assert_int_equal(grpc_unary(ch, "DescribeNamespace", GRPC_NAMESPACED, &req.base,
                                &WFS_DESC(describe_namespace_response), NULL, &resp, 10000, &s),
                     GRPC_OK);
    WFS(DescribeNamespaceResponse) *r = (void *)resp;
    assert_non_null(r->namespace_info);
    assert_string_equal(r->namespace_info->name, NS);
    protobuf_c_message_free_unpacked(resp, NULL);

    /* An unknown namespace: NOT_FOUND, with the server's detail type, not retried. */
    req.namespace_ = "no-such-namespace";
    assert_int_equal(grpc_unary(ch, "DescribeNamespace", GRPC_NAMESPACED, &req.base,
                                &WFS_DESC(describe_namespace_response), NULL, &resp, 10000, &s),
                     GRPC_NOT_FOUND);
    assert_non_null(strstr(s.message, "no-such-namespace"));
    assert_non_null(strstr(s.detail_type, "NamespaceNotFound"));
    assert_int_equal(s.attempts, 1);
    grpc_channel_free(ch);
}

/* Polls |queue| for a workflow task; NULL when the poll ended without one. */
static WFS(PollWorkflowTaskQueueResponse) *poll_wft(grpc_channel *ch, const char *queue,
                                                    int timeout_ms, grpc_status *s)
{
    WFS(PollWorkflowTaskQueueRequest) req;
    pb_task_queue tq;
    PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &req);
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, &tq);
    tq.name = (char *)queue;
    tq.kind = TQ_KIND_NORMAL;
    req.namespace_ = NS;
    req.task_queue = &tq;
    req.identity = "c-test@local";
    ProtobufCMessage *resp = NULL;
    int code = grpc_unary(ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL, &req.base,
                          &WFS_DESC(poll_workflow_task_queue_response), NULL, &resp, timeout_ms, s);
    if (code != GRPC_OK)
        return NULL;
    WFS(PollWorkflowTaskQueueResponse) *r = (void *)resp;
    if (!r->task_token.len) {
        protobuf_c_message_free_unpacked(resp, NULL);
        return NULL;
    }
    return r;
}

static const char *start_workflow(const tserver *s, const char *id, const char *queue,
                                  const char *input, char *run_id, size_t n)
{
    const char *args[] = {"start", "--id", id, "--type", "CTestWorkflow", "--task-queue", queue,
                          "--input", input, NULL};
    cJSON *o = driver_json(s, args);
    snprintf(run_id, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "run_id")));
    cJSON_Delete(o);
    return run_id;
}

static void complete_workflow(grpc_channel *ch, WFS(PollWorkflowTaskQueueResponse) *task,
                              const char *json_result)
{
    pb_payload p;
    pb_payload *pp = &p;
    pb_payloads ps;
    pb_metadata_entry enc, *encp = &enc;
    PB_INIT(temporal__api__common__v1__payload__descriptor, &p);
    PB_INIT(temporal__api__common__v1__payloads__descriptor, &ps);
    PB_INIT(temporal__api__common__v1__payload__metadata_entry__descriptor, &enc);
    enc.key = "encoding";
    enc.value.data = (uint8_t *)"json/plain";
    enc.value.len = 10;
    p.n_metadata = 1;
    p.metadata = &encp;
    p.data.data = (uint8_t *)json_result;
    p.data.len = strlen(json_result);
    ps.n_payloads = 1;
    ps.payloads = &pp;
    Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes attrs;
    PB_INIT(temporal__api__command__v1__complete_workflow_execution_command_attributes__descriptor,
            &attrs);
    attrs.result = &ps;
    pb_command cmd, *cmdp = &cmd;
    PB_INIT(temporal__api__command__v1__command__descriptor, &cmd);
    cmd.command_type = CMD(COMPLETE_WORKFLOW_EXECUTION);
    cmd.attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    cmd.complete_workflow_execution_command_attributes = &attrs;

    WFS(RespondWorkflowTaskCompletedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request), &req);
    req.task_token = task->task_token;
    req.namespace_ = NS;
    req.identity = "c-test@local";
    req.n_commands = 1;
    req.commands = &cmdp;
    ProtobufCMessage *resp;
    grpc_status s;
    int code = grpc_unary(ch, "RespondWorkflowTaskCompleted", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(respond_workflow_task_completed_response), NULL, &resp, 10000,
                          &s);
    if (code != GRPC_OK)
        fail_msg("RespondWorkflowTaskCompleted: %s: %s", grpc_code_name(code), s.message);
    protobuf_c_message_free_unpacked(resp, NULL);
}

static cJSON *await_workflow(const tserver *s, const char *id)
{
    const char *args[] = {"await", "--id", id, NULL};
    return driver_json(s, args);
}

static void workflow_polled_and_completed(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    char id[64], queue[64], run_id[64];
    unique(id, sizeof(id), "wf");
    unique(queue, sizeof(queue), "tq");
    start_workflow(&srv, id, queue, "{\"name\":\"Temporal\"}", run_id, sizeof(run_id));
    grpc_status s;
    WFS(PollWorkflowTaskQueueResponse) *task = poll_wft(ch, queue, 70000, &s);
    if (!task)
        fail_msg("no task: %s: %s", grpc_code_name(s.code), s.message);
    assert_string_equal(task->workflow_execution->workflow_id, id);
    assert_string_equal(task->workflow_execution->run_id, run_id);
    assert_string_equal(task->workflow_type->name, "CTestWorkflow");
    assert_non_null(task->history);
    assert_true(task->history->n_events >= 3);
    pb_event *first = task->history->events[0];
    assert_int_equal(first->event_type, EV(WORKFLOW_EXECUTION_STARTED));
    pb_payloads *in = first->workflow_execution_started_event_attributes->input;
    assert_non_null(in);
    assert_int_equal(in->n_payloads, 1);
    cJSON *arg = cJSON_ParseWithLength((const char *)in->payloads[0]->data.data,
                                       in->payloads[0]->data.len);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(arg, "name")), "Temporal");
    cJSON_Delete(arg);
    assert_int_equal(task->history->events[task->history->n_events - 1]->event_type,
                     EV(WORKFLOW_TASK_STARTED));
    complete_workflow(ch, task, "\"Hello, Temporal\"");
    protobuf_c_message_free_unpacked(&task->base, NULL);

    cJSON *done = await_workflow(&srv, id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")),
                        "Hello, Temporal");
    cJSON_Delete(done);
    grpc_channel_free(ch);
}

static void signal_many(grpc_channel *ch, const char *id, int n)
{
    for (int i = 0; i < n; i++) {
        WFS(SignalWorkflowExecutionRequest) req;
        pb_execution ex;
        PB_INIT(WFS_DESC(signal_workflow_execution_request), &req);
        PB_INIT(temporal__api__common__v1__workflow_execution__descriptor, &ex);
        ex.workflow_id = (char *)id;
        req.namespace_ = NS;
        req.workflow_execution = &ex;
        req.signal_name = "tick";
        req.identity = "c-test@local";
        ProtobufCMessage *resp;
        grpc_status s;
        int code = grpc_unary(ch, "SignalWorkflowExecution", GRPC_NAMESPACED, &req.base,
                              &WFS_DESC(signal_workflow_execution_response), NULL, &resp, 10000,
                              &s);
        if (code != GRPC_OK)
            fail_msg("signal %d: %s: %s", i, grpc_code_name(code), s.message);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
}

/* Fetches the rest of a task's history page by page; returns the total number of events. */
static size_t page_history(grpc_channel *ch, WFS(PollWorkflowTaskQueueResponse) *task, int *pages)
{
    size_t total = task->history->n_events;
    int64_t last = task->history->events[total - 1]->event_id;
    ProtobufCBinaryData token = task->next_page_token;
    ProtobufCMessage *prev = NULL;
    *pages = 1;
    while (token.len) {
        WFS(GetWorkflowExecutionHistoryRequest) req;
        PB_INIT(WFS_DESC(get_workflow_execution_history_request), &req);
        req.namespace_ = NS;
        req.execution = task->workflow_execution;
        req.next_page_token = token;
        ProtobufCMessage *resp;
        grpc_status s;
        int code = grpc_unary(ch, "GetWorkflowExecutionHistory", GRPC_NAMESPACED, &req.base,
                              &WFS_DESC(get_workflow_execution_history_response), NULL, &resp,
                              10000, &s);
        if (code != GRPC_OK)
            fail_msg("history page: %s: %s", grpc_code_name(code), s.message);
        WFS(GetWorkflowExecutionHistoryResponse) *r = (void *)resp;
        for (size_t i = 0; r->history && i < r->history->n_events; i++) {
            assert_true(r->history->events[i]->event_id == last + 1); /* no gap, no repeat */
            last = r->history->events[i]->event_id;
            total++;
        }
        (*pages)++;
        token = r->next_page_token;
        if (prev)
            protobuf_c_message_free_unpacked(prev, NULL);
        prev = resp;
    }
    if (prev)
        protobuf_c_message_free_unpacked(prev, NULL);
    return total;
}

static void long_history_is_paged(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    char id[64], queue[64], run_id[64];
    unique(id, sizeof(id), "long");
    unique(queue, sizeof(queue), "tq-long");
    start_workflow(&srv, id, queue, "{}", run_id, sizeof(run_id));
    signal_many(ch, id, 600); /* more events than one page carries */
    grpc_status s;
    WFS(PollWorkflowTaskQueueResponse) *task = poll_wft(ch, queue, 70000, &s);
    if (!task)
        fail_msg("no task: %s: %s", grpc_code_name(s.code), s.message);
    int pages = 0;
    size_t total = page_history(ch, task, &pages);
    assert_true(pages >= 2);
    const char *args[] = {"describe", "--id", id, NULL};
    cJSON *d = driver_json(&srv, args);
    double len = cJSON_GetNumberValue(cJSON_GetObjectItem(d, "history_length"));
    assert_true(len >= 600);
    assert_int_equal(total, (size_t)len);
    cJSON_Delete(d);
    complete_workflow(ch, task, "\"paged\"");
    protobuf_c_message_free_unpacked(&task->base, NULL);
    cJSON *done = await_workflow(&srv, id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    cJSON_Delete(done);
    grpc_channel_free(ch);
}

typedef struct poller {
    grpc_channel *ch;
    char queue[64];
    char got_id[64];
    grpc_status st;
} poller;

static void *poll_thread(void *arg)
{
    poller *p = arg;
    WFS(PollWorkflowTaskQueueResponse) *task = poll_wft(p->ch, p->queue, 60000, &p->st);
    if (task) {
        snprintf(p->got_id, sizeof(p->got_id), "%s", task->workflow_execution->workflow_id);
        complete_workflow(p->ch, task, "1");
        protobuf_c_message_free_unpacked(&task->base, NULL);
    }
    return NULL;
}

static void eight_polls_share_one_connection(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    poller p[8];
    pthread_t t[8];
    char ids[8][64], run_id[64];
    for (int i = 0; i < 8; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].ch = ch;
        unique(p[i].queue, sizeof(p[i].queue), "tq8");
        pthread_create(&t[i], NULL, poll_thread, &p[i]);
    }
    usleep(300 * 1000); /* all eight polls open */
    for (int i = 0; i < 8; i++) {
        unique(ids[i], sizeof(ids[i]), "wf8");
        start_workflow(&srv, ids[i], p[i].queue, "{}", run_id, sizeof(run_id));
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        if (strcmp(p[i].got_id, ids[i]) != 0)
            fail_msg("poller %d got \"%s\" (%s: %s)", i, p[i].got_id, grpc_code_name(p[i].st.code),
                     p[i].st.message);
    }
    /* Eight streams at once on one connection (a GOAWAY from the server's connection age may
     * have added one more). */
    assert_true(grpc_channel_connections(ch) <= 2);
    grpc_channel_free(ch);
}

static void connections_aged_out_by_goaway(void **st)
{
    /* The group's server sends GOAWAY after 4 s: calls keep working across it. */
    grpc_channel *ch = open_channel(&srv, NULL);
    for (int i = 0; i < 6; i++) {
        WFS(GetSystemInfoRequest) req;
        PB_INIT(WFS_DESC(get_system_info_request), &req);
        ProtobufCMessage *resp;
        grpc_status s;
        int code = grpc_unary(ch, "GetSystemInfo", 0, &req.base,
                              &WFS_DESC(get_system_info_response), NULL, &resp, 10000, &s);
        if (code != GRPC_OK)
            fail_msg("call %d: %s: %s", i, grpc_code_name(code), s.message);
        protobuf_c_message_free_unpacked(resp, NULL);
        sleep(2);
    }
    assert_true(grpc_channel_connections(ch) >= 2);
    grpc_channel_free(ch);
}

static void poll_survives_server_restart(void **st)
{
    tserver own = {0};
    assert_int_equal(tserver_start(&own, 0, NULL, NULL), 0);
    grpc_channel *ch = open_channel(&own, NULL);
    poller p = {.ch = ch};
    unique(p.queue, sizeof(p.queue), "tq-restart");
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    sleep(1);
    int port = own.port;
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", own.dir);
    tserver_stop(&own, 1, 1); /* killed mid-poll */
    sleep(1);
    assert_int_equal(tserver_start(&own, port, dir, NULL), 0);
    char id[64], run_id[64];
    unique(id, sizeof(id), "wf-restart");
    start_workflow(&own, id, p.queue, "{}", run_id, sizeof(run_id));
    pthread_join(t, NULL);
    if (strcmp(p.got_id, id) != 0)
        fail_msg("poll after restart got \"%s\" (%s: %s)", p.got_id, grpc_code_name(p.st.code),
                 p.st.message);
    assert_true(p.st.attempts >= 2);
    assert_true(grpc_channel_connections(ch) >= 2);
    cJSON *done = await_workflow(&own, id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    cJSON_Delete(done);
    grpc_channel_free(ch);
    tserver_stop(&own, 0, 0);
}

static void cancel_polls_ends_open_polls(void **st)
{
    grpc_channel *ch = open_channel(&srv, NULL);
    poller p = {.ch = ch};
    unique(p.queue, sizeof(p.queue), "tq-cancel");
    pthread_t t;
    pthread_create(&t, NULL, poll_thread, &p);
    usleep(300 * 1000);
    grpc_cancel_polls(ch);
    pthread_join(t, NULL);
    assert_int_equal(p.st.code, GRPC_CANCELLED);
    assert_string_equal(p.got_id, "");
    grpc_channel_free(ch);
}

/* ---- TLS ---- */

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *data = read_all(path, len);
    if (!*len)
        fail_msg("missing %s", path);
    return data;
}

static int system_info(grpc_channel *ch, grpc_status *s)
{
    WFS(GetSystemInfoRequest) req;
    PB_INIT(WFS_DESC(get_system_info_request), &req);
    ProtobufCMessage *resp = NULL;
    int code = grpc_unary(ch, "GetSystemInfo", 0, &req.base, &WFS_DESC(get_system_info_response),
                          NULL, &resp, 3000, s);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

static void tls_and_mtls(void **st)
{
    char dir[] = "/tmp/tw-certs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(make_certs(dir), 0);
    char cert[600], key[600], ca[600];
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server-key.pem", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    size_t ca_len, other_len, ccert_len, ckey_len;
    char *ca_pem = slurp(dir, "ca.pem", &ca_len);
    char *other_pem = slurp(dir, "other-ca.pem", &other_len);
    char *ccert = slurp(dir, "client.pem", &ccert_len);
    char *ckey = slurp(dir, "client-key.pem", &ckey_len);

    /* TLS: verified against the right CA; a wrong CA or a wrong name fails clearly. */
    tserver tls = {0};
    const char *targs[] = {"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca, NULL};
    assert_int_equal(tserver_start(&tls, 0, NULL, targs), 0);
    grpc_status s;
    grpc_config good = {.tls = 1, .tls_cfg = {.ca_pem = ca_pem, .ca_len = ca_len,
                                              .server_name = "localhost"}};
    grpc_channel *ch = open_channel(&tls, &good);
    assert_int_equal(system_info(ch, &s), GRPC_OK);
    grpc_channel_free(ch);

    grpc_config wrong_ca = good;
    wrong_ca.tls_cfg.ca_pem = other_pem;
    wrong_ca.tls_cfg.ca_len = other_len;
    ch = open_channel(&tls, &wrong_ca);
    assert_int_equal(system_info(ch, &s), GRPC_UNAVAILABLE);
    assert_non_null(strstr(s.message, "not trusted"));
    grpc_channel_free(ch);

    grpc_config wrong_name = good;
    wrong_name.tls_cfg.server_name = "temporal.example.com";
    ch = open_channel(&tls, &wrong_name);
    assert_int_equal(system_info(ch, &s), GRPC_UNAVAILABLE);
    assert_non_null(strstr(s.message, "not trusted"));
    assert_non_null(strstr(s.message, "CN"));
    grpc_channel_free(ch);

    grpc_config skip_name = wrong_name; /* host check off: the chain is still checked */
    skip_name.tls_cfg.skip_host_verification = 1;
    ch = open_channel(&tls, &skip_name);
    assert_int_equal(system_info(ch, &s), GRPC_OK);
    grpc_channel_free(ch);
    tserver_stop(&tls, 0, 0);

    /* mTLS: the server requires our client certificate. */
    tserver mtls = {0};
    const char *margs[] = {"--tls-cert", cert, "--tls-key", key, "--client-ca", ca, NULL};
    assert_int_equal(tserver_start(&mtls, 0, NULL, margs), 0);
    ch = open_channel(&mtls, &good);
    assert_int_not_equal(system_info(ch, &s), GRPC_OK); /* no client certificate */
    grpc_channel_free(ch);
    grpc_config with_cert = good;
    with_cert.tls_cfg.cert_pem = ccert;
    with_cert.tls_cfg.cert_len = ccert_len;
    with_cert.tls_cfg.key_pem = ckey;
    with_cert.tls_cfg.key_len = ckey_len;
    ch = open_channel(&mtls, &with_cert);
    int code = system_info(ch, &s);
    if (code != GRPC_OK)
        fail_msg("mTLS: %s: %s", grpc_code_name(code), s.message);
    grpc_channel_free(ch);
    tserver_stop(&mtls, 0, 0);

    free(ca_pem);
    free(other_pem);
    free(ccert);
    free(ckey);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_system_info),
        cmocka_unit_test(describe_namespace),
        cmocka_unit_test(workflow_polled_and_completed),
        cmocka_unit_test(long_history_is_paged),
        cmocka_unit_test(eight_polls_share_one_connection),
        cmocka_unit_test(cancel_polls_ends_open_polls),
        cmocka_unit_test(connections_aged_out_by_goaway),
        cmocka_unit_test(poll_survives_server_restart),
        cmocka_unit_test(tls_and_mtls),
    };
    return cmocka_run_group_tests_name("temporal", tests, group_setup, group_teardown);
}
