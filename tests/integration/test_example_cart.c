/*
 * End to end, the cart example (examples/cart/worker.c) as its users meet it: build/bootstrap
 * runs it under the local Lambda emulator against the real Temporal server, and the official
 * Go SDK (tw-driver) talks to it:
 *
 *   - signal-with-start and signals fill the cart (a bad one is dropped), the "cart" query and
 *     __stack_trace read it while it runs, a checkout with an unknown coupon is refused (no
 *     event), one with a good coupon pays and answers with the receipt; the expiry timer is
 *     cancelled, never fired; a query after the workflow completed reads the paid cart;
 *   - a declined payment fails the update with its cause and leaves the cart open with a fresh
 *     expiry timer; the next checkout pays;
 *   - a checkout of an empty cart is refused; an untouched cart expires and gives its items back;
 *   - a cancelled cart gives its items back and ends CANCELED;
 *   - a cancel while the payment runs (__stack_trace shows the checkout waiting on it): the
 *     payment is asked to stop and answers (its cancellation type waits for it), the update
 *     fails as cancelled, the items go back.
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

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define LIB "examples/libcart.so"

static tserver srv;

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* ---- the driver ---- */

/* The driver fails saying |want| on stderr. */
static void driver_fails_with(const char *const *args, const char *want)
{
    char *out = NULL, path[] = "/tmp/tw-cart-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    int rc = driver_run(&srv, &out, args);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *why = read_all(path, NULL);
    unlink(path);
    if (rc == 0)
        fail_msg("driver %s succeeded: %s", args[0], out);
    free(out);
    if (!strstr(why, want))
        fail_msg("driver %s: want an error with \"%s\", got: %s", args[0], want, why);
    free(why);
}

/* ---- the function ---- */

typedef struct fn {
    emu_proc emu;
    char queue[64];
    char deployment[64];
} fn;

/* A current deployment version for a fresh task queue, and an emulator running
 * build/bootstrap with the cart example (4 s idle exit). */
static void deploy(fn *f)
{
    static int seq;
    snprintf(f->queue, sizeof(f->queue), "cart-%d-%d", (int)getpid(), ++seq);
    snprintf(f->deployment, sizeof(f->deployment), "cartdep-%d-%d", (int)getpid(), seq);
    const char *create[] = {"create-deployment", "--deployment", f->deployment, NULL};
    flow_call_ok(&srv, create);
    const char *version[] = {"create-version", "--deployment", f->deployment, "--build-id", "b1", NULL};
    flow_call_ok(&srv, version);
    const char *current[] = {"set-current", "--deployment", f->deployment, "--build-id", "b1", NULL};
    flow_call_ok(&srv, current);

    char lib[4096], addr[64], tq[96], dep[96];
    if (!realpath(harness_built(LIB), lib))
        fail_msg("no %s", LIB);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    snprintf(tq, sizeof(tq), "TEMPORAL_TASK_QUEUE=%s", f->queue);
    snprintf(dep, sizeof(dep), "TEMPORAL_DEPLOYMENT_NAME=%s", f->deployment);
    const char *args[] = {"--handler", lib, "--timeout", "30", "-e", addr, "-e", tq, "-e", dep,
                          "-e", "TEMPORAL_WORKER_BUILD_ID=b1", "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                          "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "-e", "TEMPORAL_IDLE_EXIT=4s",
                          NULL};
    char boot[600];
    snprintf(boot, sizeof(boot), "%s", harness_built("bootstrap"));
    assert_int_equal(emu_start(&f->emu, boot, args), 0);
}

/* An invocation running in the background while the test talks to the cart. */
typedef struct bg_invoke {
    fn *f;
    pthread_t th;
    http_answer a;
    int rc;
} bg_invoke;

static void *bg_run(void *arg)
{
    bg_invoke *b = arg;
    b->rc = emu_invoke(&b->f->emu, NULL, NULL, "{}", NULL, &b->a);
    return NULL;
}

static void bg_start(bg_invoke *b, fn *f)
{
    *b = (bg_invoke){.f = f};
    assert_int_equal(pthread_create(&b->th, NULL, bg_run, b), 0);
}

/* Waits for the invocation; its summary (no workflow task may have failed). */
static cJSON *bg_join(bg_invoke *b)
{
    pthread_join(b->th, NULL);
    assert_int_equal(b->rc, 0);
    if (http_answer_header(&b->a, "X-Amz-Function-Error"))
        fail_msg("invocation failed: %s\n%s", b->a.body, emu_output(&b->f->emu));
    cJSON *s = cJSON_Parse(b->a.body);
    assert_non_null(s);
    int failures = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "workflow_task_failures"));
    if (failures)
        fail_msg("%d workflow task failures:\n%s", failures, emu_output(&b->f->emu));
    http_answer_free(&b->a);
    return s;
}

static void bg_done(bg_invoke *b)
{
    cJSON_Delete(bg_join(b));
}

/* Invokes until workflow |id| is closed (at most |max| times): a timer that fires after an
 * idle exit gets the next invocation, as the Worker Controller would invoke. */
static void invoke_until_closed(fn *f, const char *id, int max)
{
    for (int i = 0; i < max; i++) {
        const char *args[] = {"describe", "--id", id, NULL};
        cJSON *d = flow_call(&srv, args);
        int open = strcmp(flow_member_json(d, "status"), "\"RUNNING\"") == 0;
        cJSON_Delete(d);
        if (!open)
            return;
        bg_invoke b;
        bg_start(&b, f);
        bg_done(&b);
    }
    fail_msg("%s still running after %d invocations", id, max);
}

/* ---- talking to the cart ---- */

static void start_cart(const fn *f, const char *id, const char *lifetime_ms)
{
    const char *args[] = {"start", "--id", id, "--type", "Cart", "--task-queue", f->queue,
                          lifetime_ms ? "--input" : NULL, lifetime_ms, NULL};
    flow_call_ok(&srv, args);
}

/* Signal |name| (add_item, remove_item) with a sku and a quantity. */
static void item(const char *id, const char *name, const char *sku, const char *qty)
{
    char arg[64];
    snprintf(arg, sizeof(arg), "\"%s\"", sku);
    const char *args[] = {"signal", "--id", id, "--name", name, "--input", arg, "--input", qty,
                          NULL};
    flow_call_ok(&srv, args);
}

/* The answer to query |name|, compact JSON (static buffer). */
static const char *query(const char *id, const char *name)
{
    const char *args[] = {"query", "--id", id, "--name", name, NULL};
    cJSON *o = flow_call(&srv, args);
    const char *r = flow_member_json(o, "result");
    cJSON_Delete(o);
    return r;
}

/* The answer to __stack_trace, one line per coroutine (static buffer). */
static const char *stack_trace(const char *id)
{
    static char buf[2048];
    const char *args[] = {"query", "--id", id, "--name", "__stack_trace", NULL};
    cJSON *o = flow_call(&srv, args);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "result"));
    snprintf(buf, sizeof(buf), "%s", s ? s : "(not a string)");
    cJSON_Delete(o);
    return buf;
}

/* The args of a checkout of |id| with |coupon| (JSON, or NULL for none). */
#define CHECKOUT(id, coupon)                                                                  \
    {"update", "--id", (id), "--name", "checkout", (coupon) ? "--input" : NULL, (coupon), NULL}

/* The receipt a completed checkout answers (compact JSON, static buffer). */
static const char *checkout(const char *id, const char *coupon)
{
    const char *args[] = CHECKOUT(id, coupon);
    cJSON *o = flow_call(&srv, args);
    const char *r = flow_member_json(o, "result");
    cJSON_Delete(o);
    return r;
}

/* History |h| has |n| events of |type|; else the failure lists its events. */
static void expect_events(const cJSON *h, const char *type, int n)
{
    int got = flow_count_events(h, type);
    if (got == n)
        return;
    char list[4096] = "";
    size_t used = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events")) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventType"));
        int k = snprintf(list + used, sizeof(list) - used, " %s", t + strlen("EVENT_TYPE_"));
        if (k < 0 || (size_t)k >= sizeof(list) - used)
            break;
        used += (size_t)k;
    }
    fail_msg("%d %s events, want %d; the history:%s", got, type, n, list);
}

/* How many times activity |type| was scheduled. */
static int count_activities(const cJSON *h, const char *type)
{
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events")) {
        const cJSON *at = cJSON_GetObjectItem(ev, "activityTaskScheduledEventAttributes");
        const char *name = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(at, "activityType"), "name"));
        n += name && strcmp(name, type) == 0;
    }
    return n;
}

#define EV(name) "EVENT_TYPE_" name

/* A log line of the function holds |text| (the example's activities log there; a log line is
 * JSON, so |text|'s quotes appear escaped). */
static void output_has(const fn *f, const char *text)
{
    char needle[512];
    size_t n = 0;
    for (const char *p = text; *p && n + 2 < sizeof(needle); p++) {
        if (*p == '"')
            needle[n++] = '\\';
        needle[n++] = *p;
    }
    needle[n] = '\0';
    char *out = emu_output(&f->emu);
    if (!strstr(out, needle))
        fail_msg("the function's output lacks %s:\n%s", needle, out);
    free(out);
}

/* ---- the tests ---- */

static void a_cart_is_filled_queried_and_paid(void **st)
{
    fn f;
    deploy(&f);
    char id[64];
    const char *sws[] = {"signal-with-start", "--id", flow_new_id(id, sizeof(id), "cart"), "--type",
                         "Cart", "--task-queue", f.queue, "--name", "add_item", "--signal-input",
                         "\"apple\"", "--signal-input", "3", NULL};
    flow_call_ok(&srv, sws);
    bg_invoke b;
    bg_start(&b, &f);
    item(id, "add_item", "coffee", "1");
    item(id, "remove_item", "apple", "1");
    item(id, "add_item", "plutonium", "1"); /* not in the catalog: dropped */
    item(id, "add_item", "bread", "2");
    item(id, "remove_item", "bread", "5"); /* more than there is: the line goes */

    const char *items = "[{\"sku\":\"apple\",\"qty\":2},{\"sku\":\"coffee\",\"qty\":1}]";
    char want[512];
    snprintf(want, sizeof(want), "{\"status\":\"open\",\"items\":%s,\"total_cents\":1690,"
             "\"coupon\":null,\"receipt\":null}", items);
    assert_string_equal(query(id, "cart"), want);
    const char *trace = stack_trace(id);
    if (!strstr(trace, "coroutine 1 (main): tw_await_condition (timeout: timer 1)\n"))
        fail_msg("stack trace: %s", trace);

    const char *bogus[] = CHECKOUT(id, "\"BOGUS\"");
    driver_fails_with(bogus, "unknown coupon BOGUS");
    char receipt[256];
    snprintf(receipt, sizeof(receipt), "{\"payment_id\":\"pay-%s\",\"amount_cents\":1521}", id);
    assert_string_equal(checkout(id, "\"SAVE10\""), receipt);
    bg_done(&b);

    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"COMPLETED\"");
    snprintf(want, sizeof(want), "{\"status\":\"paid\",\"items\":%s,\"total_cents\":1690,"
             "\"coupon\":\"SAVE10\",\"receipt\":%s}", items, receipt);
    assert_string_equal(flow_member_json(done, "result"), want);
    cJSON_Delete(done);

    cJSON *h = flow_history(&srv, id, NULL);
    expect_events(h, EV("WORKFLOW_EXECUTION_SIGNALED"), 6);
    expect_events(h, EV("TIMER_STARTED"), 1);
    expect_events(h, EV("TIMER_CANCELED"), 1); /* checkout beat the expiry */
    expect_events(h, EV("TIMER_FIRED"), 0);
    expect_events(h, EV("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"), 1);
    expect_events(h, EV("WORKFLOW_EXECUTION_UPDATE_COMPLETED"), 1);
    expect_events(h, EV("WORKFLOW_TASK_FAILED"), 0);
    assert_int_equal(count_activities(h, "Charge"), 1);
    assert_int_equal(count_activities(h, "ReleaseItems"), 0);
    cJSON_Delete(h);

    /* The completed cart still answers: a query task replays its whole history. */
    bg_start(&b, &f);
    usleep(300 * 1000);
    snprintf(want, sizeof(want), "{\"status\":\"paid\",\"items\":%s", items);
    assert_memory_equal(query(id, "cart"), want, strlen(want));
    cJSON *s = bg_join(&b);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "queries")), 1);
    cJSON_Delete(s);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_declined_payment_keeps_the_cart_open(void **st)
{
    fn f;
    deploy(&f);
    char id[64];
    start_cart(&f, flow_new_id(id, sizeof(id), "declined"), NULL);
    bg_invoke b;
    bg_start(&b, &f);
    item(id, "add_item", "tv", "1");
    /* The cart before and after: the answer to a query comes after the task that has the
     * signal completed, so the expiry timer was started before the checkout came. */
    const char *cart = "{\"status\":\"open\",\"items\":[{\"sku\":\"tv\",\"qty\":1}],"
                       "\"total_cents\":89900,\"coupon\":null,\"receipt\":null}";
    assert_string_equal(query(id, "cart"), cart);
    const char *pay[] = CHECKOUT(id, NULL);
    driver_fails_with(pay, "payment failed: card declined: over 500.00");
    assert_string_equal(query(id, "cart"), cart);
    item(id, "remove_item", "tv", "1");
    item(id, "add_item", "bread", "1");
    char receipt[256];
    snprintf(receipt, sizeof(receipt), "{\"payment_id\":\"pay-%s\",\"amount_cents\":350}", id);
    assert_string_equal(checkout(id, NULL), receipt);
    bg_done(&b);

    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"COMPLETED\"");
    cJSON_Delete(done);
    cJSON *h = flow_history(&srv, id, NULL);
    expect_events(h, EV("TIMER_STARTED"), 2); /* a fresh expiry after the decline */
    expect_events(h, EV("TIMER_CANCELED"), 2);
    expect_events(h, EV("ACTIVITY_TASK_FAILED"), 1); /* not retried */
    expect_events(h, EV("WORKFLOW_EXECUTION_UPDATE_COMPLETED"), 2);
    expect_events(h, EV("WORKFLOW_TASK_FAILED"), 0);
    cJSON_Delete(h);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void an_empty_cart_is_refused_and_an_untouched_one_expires(void **st)
{
    fn f;
    deploy(&f);
    char id[64];
    start_cart(&f, flow_new_id(id, sizeof(id), "expiry"), "3000");
    bg_invoke b;
    bg_start(&b, &f);
    const char *pay[] = CHECKOUT(id, NULL);
    driver_fails_with(pay, "the cart is empty");
    item(id, "add_item", "bread", "1");
    bg_done(&b);
    invoke_until_closed(&f, id, 3);

    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "result"), "{\"status\":\"expired\",\"items\":[{\"sku\":"
                                                 "\"bread\",\"qty\":1}],\"total_cents\":350,"
                                                 "\"coupon\":null,\"receipt\":null}");
    cJSON_Delete(done);
    cJSON *h = flow_history(&srv, id, NULL);
    expect_events(h, EV("TIMER_FIRED"), 1);
    expect_events(h, EV("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"), 0); /* refused */
    assert_int_equal(count_activities(h, "ReleaseItems"), 1);
    cJSON_Delete(h);
    output_has(&f, "released {\"status\":\"expired\"");
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_cancelled_cart_gives_its_items_back(void **st)
{
    fn f;
    deploy(&f);
    char id[64];
    const char *sws[] = {"signal-with-start", "--id", flow_new_id(id, sizeof(id), "cancel"), "--type",
                         "Cart", "--task-queue", f.queue, "--name", "add_item", "--signal-input",
                         "\"apple\"", "--signal-input", "2", NULL};
    flow_call_ok(&srv, sws);
    bg_invoke b;
    bg_start(&b, &f);
    assert_memory_equal(query(id, "cart"), "{\"status\":\"open\"", 16);
    const char *cancel[] = {"cancel", "--id", id, NULL};
    flow_call_ok(&srv, cancel);
    bg_done(&b);

    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"CANCELED\"");
    cJSON_Delete(done);
    cJSON *h = flow_history(&srv, id, NULL);
    expect_events(h, EV("TIMER_CANCELED"), 1);
    assert_int_equal(count_activities(h, "ReleaseItems"), 1);
    expect_events(h, EV("ACTIVITY_TASK_COMPLETED"), 1);
    expect_events(h, EV("WORKFLOW_EXECUTION_CANCELED"), 1);
    cJSON_Delete(h);
    output_has(&f, "released {\"status\":\"cancelled\",\"items\":[{\"sku\":\"apple\",\"qty\":2}]");
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_cancel_while_paying_waits_for_the_payment(void **st)
{
    fn f;
    deploy(&f);
    char id[64];
    const char *sws[] = {"signal-with-start", "--id", flow_new_id(id, sizeof(id), "paying"), "--type",
                         "Cart", "--task-queue", f.queue, "--name", "add_item", "--signal-input",
                         "\"coffee\"", NULL};
    flow_call_ok(&srv, sws);
    bg_invoke b;
    bg_start(&b, &f);
    /* The async stage: back once accepted, while Charge (about 2 s) runs. */
    const char *pay[] = {"update", "--id", id, "--name", "checkout", "--update-id", "pay-1",
                         "--wait", "accepted", NULL};
    cJSON *accepted = flow_call(&srv, pay);
    assert_string_equal(flow_member_json(accepted, "stage"), "\"ACCEPTED\"");
    cJSON_Delete(accepted);
    /* The checkout's handler waits for Charge; the workflow function for the payment. */
    const char *trace = stack_trace(id);
    if (!strstr(trace, "coroutine 1 (main): tw_await_condition\n") ||
        !strstr(trace, " (update \"checkout\"): tw_await activity 1 \"Charge\"\n"))
        fail_msg("stack trace: %s", trace);
    const char *cancel[] = {"cancel", "--id", id, NULL};
    flow_call_ok(&srv, cancel);
    bg_done(&b);

    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"CANCELED\"");
    cJSON_Delete(done);
    const char *result[] = {"update-result", "--id", id, "--update-id", "pay-1", NULL};
    driver_fails_with(result, "the update was cancelled");
    cJSON *h = flow_history(&srv, id, NULL);
    expect_events(h, EV("ACTIVITY_TASK_CANCEL_REQUESTED"), 1);
    expect_events(h, EV("ACTIVITY_TASK_CANCELED"), 1); /* Charge's answer */
    assert_int_equal(count_activities(h, "ReleaseItems"), 1);
    expect_events(h, EV("WORKFLOW_EXECUTION_CANCELED"), 1);
    expect_events(h, EV("WORKFLOW_TASK_FAILED"), 0);
    cJSON_Delete(h);
    output_has(&f, "released {\"status\":\"cancelled\"");
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_cart_is_filled_queried_and_paid),
        cmocka_unit_test(a_declined_payment_keeps_the_cart_open),
        cmocka_unit_test(an_empty_cart_is_refused_and_an_untouched_one_expires),
        cmocka_unit_test(a_cancelled_cart_gives_its_items_back),
        cmocka_unit_test(a_cancel_while_paying_waits_for_the_payment),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
