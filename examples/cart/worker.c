/*
 * cart: a shopping cart people talk to, one workflow per cart. It shows the calls a workflow
 * uses to be talked to: signals that change it, a query that reads it, an update that is
 * validated and then blocks on an activity, a timer that expires it, and a cancel that cleans
 * up.
 *
 *   "Cart" (argument: how long the cart waits for a checkout, in ms; default one hour)
 *     signal "add_item"    (sku, quantity = 1)  puts items in the cart
 *     signal "remove_item" (sku, quantity = 1)  takes them out
 *     query  "cart"        the cart as JSON:
 *                          {"status","items":[{"sku","qty"}],"total_cents","coupon","receipt"}
 *     update "checkout"    (coupon, optional)  refused for an empty cart, an unknown coupon or
 *                          a cart that is not open; otherwise charges the total (less the
 *                          coupon) with the "Charge" activity and answers with its receipt. A
 *                          declined payment fails the update and leaves the cart open.
 *   The cart expires when no checkout starts in time (the timer restarts after a declined
 *   payment). An expired or cancelled cart gives its items back ("ReleaseItems"). The result
 *   is the final cart (status "paid" or "expired"); a cancelled cart ends cancelled, unless it
 *   was paid for first.
 *
 * Activities: "Charge" (amount in cents) takes about two seconds, declines anything over
 * 500.00, and answers {"payment_id","amount_cents"}; "ReleaseItems" (the cart) logs them.
 *
 * Try it (tw-driver, local/temporal/README.md):
 *   signal-with-start --id cart-1 --type Cart --task-queue Q --name add_item
 *                     --signal-input '"apple"' --signal-input 3
 *   query --id cart-1 --name cart
 *   update --id cart-1 --name checkout --input '"SAVE10"'
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw.h"

enum { SKU_MAX = 16, MAX_LINES = 16, MAX_QTY = 99, CARD_LIMIT_CENTS = 50000 };

/* What the shop sells. Workflow code must be deterministic: constant tables are fine, a price
 * read from a database is an activity's job. */
static const struct {
    const char *sku;
    long long cents;
} catalog[] = {{"apple", 120}, {"bread", 350}, {"coffee", 1450}, {"tv", 89900}};

static const struct {
    const char *code;
    int percent_off;
} coupons[] = {{"SAVE10", 10}, {"HALF", 50}};

/* ---- reading arguments (JSON payloads, as the official clients send them) ---- */

/* A JSON string argument such as "apple" into |out| without its quotes. Only letters, digits,
 * '-' and '_' are accepted, so the value needs no escaping when it is printed back. 0, or -1
 * when it is missing, too long or not such a string. */
static int word_arg(const tw_payload *args, size_t nargs, size_t i, char *out, size_t n)
{
    if (i >= nargs || args[i].len < 3 || args[i].len - 2 >= n || args[i].data[0] != '"' ||
        args[i].data[args[i].len - 1] != '"')
        return -1;
    size_t len = args[i].len - 2;
    const char *word = (const char *)args[i].data + 1;
    for (size_t k = 0; k < len; k++)
        if (!((word[k] >= 'a' && word[k] <= 'z') || (word[k] >= 'A' && word[k] <= 'Z') ||
              (word[k] >= '0' && word[k] <= '9') || word[k] == '-' || word[k] == '_'))
            return -1;
    memcpy(out, word, len);
    out[len] = '\0';
    return 0;
}

/* A JSON number argument, or |dflt| when it is missing or null. */
static long long number_arg(const tw_payload *args, size_t nargs, size_t i, long long dflt)
{
    char buf[24];
    if (i >= nargs || args[i].len == 0 || args[i].len >= sizeof(buf))
        return dflt;
    memcpy(buf, args[i].data, args[i].len);
    buf[args[i].len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end == buf ? dflt : v;
}

static long long price_of(const char *sku)
{
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
        if (strcmp(catalog[i].sku, sku) == 0)
            return catalog[i].cents;
    return 0;
}

/* The coupon's percentage off, 0 for none (a missing or null argument), -1 for an unknown or
 * malformed one. |code| gets the code ("" for none). */
static int coupon_arg(const tw_payload *args, size_t nargs, char *code, size_t n)
{
    code[0] = '\0';
    if (nargs == 0 || (args[0].len == 4 && memcmp(args[0].data, "null", 4) == 0))
        return 0;
    if (word_arg(args, nargs, 0, code, n) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(coupons) / sizeof(coupons[0]); i++)
        if (strcmp(coupons[i].code, code) == 0)
            return coupons[i].percent_off;
    return -1;
}

/* ---- the cart ---- */

typedef enum { CART_OPEN, CART_PAYING, CART_PAID, CART_EXPIRED, CART_CANCELLED } cart_status;
static const char *const status_names[] = {"open", "paying", "paid", "expired", "cancelled"};

/* The workflow's state. It lives in workflow memory (tw_wf_alloc), never in a global: each
 * workflow task replays the history from the start and builds it again, signal by signal. */
typedef struct cart {
    cart_status status;
    struct {
        char sku[SKU_MAX];
        long long qty;
    } lines[MAX_LINES];
    size_t nlines;
    char coupon[SKU_MAX];
    tw_payload receipt; /* Charge's answer once paid */
} cart;

static long long total_cents(const cart *c)
{
    long long sum = 0;
    for (size_t i = 0; i < c->nlines; i++)
        sum += c->lines[i].qty * price_of(c->lines[i].sku);
    return sum;
}

/* A bounded string in workflow memory, for JSON answers. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void appendf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(text *t, const char *fmt, ...)
{
    if (!t->s || t->len >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len = n < 0 ? t->cap : t->len + (size_t)n;
}

/* The cart as JSON, in workflow memory (it outlives the call: a query's answer, the workflow's
 * result and ReleaseItems' argument are read after the function returns). */
static tw_payload cart_json(tw_wf *wf, const cart *c)
{
    text t = {.cap = 160 + c->nlines * (SKU_MAX + 32) + c->receipt.len};
    t.s = tw_wf_alloc(wf, t.cap);
    appendf(&t, "{\"status\":\"%s\",\"items\":[", status_names[c->status]);
    for (size_t i = 0; i < c->nlines; i++)
        appendf(&t, "%s{\"sku\":\"%s\",\"qty\":%lld}", i ? "," : "", c->lines[i].sku,
                c->lines[i].qty);
    appendf(&t, "],\"total_cents\":%lld,\"coupon\":", total_cents(c));
    appendf(&t, c->coupon[0] ? "\"%s\"" : "null", c->coupon);
    if (c->receipt.len)
        appendf(&t, ",\"receipt\":%.*s}", (int)c->receipt.len, (const char *)c->receipt.data);
    else
        appendf(&t, ",\"receipt\":null}");
    if (!t.s || t.len >= t.cap)
        return tw_null();
    return (tw_payload){"json/plain", (const uint8_t *)t.s, t.len};
}

static void wf_logf(tw_wf *wf, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void wf_logf(tw_wf *wf, int level, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_wf_log(wf, level, msg); /* silent while the workflow replays */
}

/* ---- signals: add_item, remove_item ---- */

/* One handler for both names: tw_handler_name() tells which. A signal cannot be refused (the
 * sender only learns it was delivered), so a bad one is logged and dropped. This handler does
 * not block; one that did (an activity, a timer) would run as its own coroutine while the
 * workflow goes on. */
static void on_item(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    cart *c = arg;
    int adding = strcmp(tw_handler_name(wf), "add_item") == 0;
    char sku[SKU_MAX];
    long long qty = number_arg(args, nargs, 1, 1);
    if (c->status != CART_OPEN) {
        wf_logf(wf, TW_LOG_WARN, "%s ignored: the cart is %s", tw_handler_name(wf),
                status_names[c->status]);
        return;
    }
    if (word_arg(args, nargs, 0, sku, sizeof(sku)) != 0 || !price_of(sku) || qty < 1 ||
        qty > MAX_QTY) {
        wf_logf(wf, TW_LOG_WARN, "%s ignored: not a known sku and a quantity 1-%d",
                tw_handler_name(wf), MAX_QTY);
        return;
    }
    size_t i = 0;
    while (i < c->nlines && strcmp(c->lines[i].sku, sku) != 0)
        i++;
    if (adding) {
        if (i == c->nlines) {
            if (c->nlines == MAX_LINES) {
                wf_logf(wf, TW_LOG_WARN, "add_item ignored: the cart is full");
                return;
            }
            snprintf(c->lines[c->nlines].sku, SKU_MAX, "%s", sku);
            c->lines[c->nlines++].qty = 0;
        }
        c->lines[i].qty += qty;
        if (c->lines[i].qty > MAX_QTY)
            c->lines[i].qty = MAX_QTY;
    } else if (i < c->nlines && (c->lines[i].qty -= qty) <= 0) {
        c->lines[i] = c->lines[--c->nlines]; /* the line goes: the last one takes its place */
    }
}

/* ---- query: cart ---- */

/* Reads the state and answers; it runs after the history is replayed, so it sees every signal
 * and update that came before it. No blocking calls here: they return TW_ESTATE. */
static int query_cart(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs,
                      tw_payload *result)
{
    (void)args, (void)nargs; /* "cart" takes no arguments */
    *result = cart_json(wf, arg);
    return 0;
}

/* ---- update: checkout ---- */

/* A refusal: the caller gets this failure; a refused update leaves no trace in the history. */
static int refuse(tw_wf *wf, const char *type, const char *message)
{
    tw_failure f = {.type = type, .message = message, .non_retryable = 1};
    return tw_wf_fail(wf, &f); /* copied: a message on the stack is fine */
}

/* The validator: read-only like a query, it decides before anything is recorded. */
static int validate_checkout(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    const cart *c = arg;
    char code[SKU_MAX], msg[64];
    if (c->status != CART_OPEN) {
        snprintf(msg, sizeof(msg), "the cart is %s", status_names[c->status]);
        return refuse(wf, "CartNotOpen", msg);
    }
    if (c->nlines == 0)
        return refuse(wf, "EmptyCart", "the cart is empty");
    if (coupon_arg(args, nargs, code, sizeof(code)) < 0) {
        snprintf(msg, sizeof(msg), "unknown coupon %s", code[0] ? code : "(not a word)");
        return refuse(wf, "UnknownCoupon", msg);
    }
    return 0;
}

/* Payments are not retried blindly: three attempts for a provider that is down, none for a
 * decline (the activity marks it non-retryable). */
static const tw_retry_policy charge_retry = {.initial_interval_ms = 1000, .maximum_attempts = 3};

/* The handler: runs as a coroutine of its own once the update is accepted, and may block. Its
 * return is the caller's answer. */
static int checkout(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs,
                    tw_payload *result)
{
    cart *c = arg;
    int percent_off = coupon_arg(args, nargs, c->coupon, sizeof(c->coupon)); /* validated */
    if (percent_off < 0)
        percent_off = 0;
    long long amount = total_cents(c) * (100 - percent_off) / 100;
    c->status = CART_PAYING; /* the main code's expiry wait ends: its timer is cancelled */

    char amount_text[24];
    snprintf(amount_text, sizeof(amount_text), "%lld", amount);
    tw_payload in = tw_json(amount_text);
    /* WAIT_COMPLETED: if the workflow is cancelled while paying, the runtime asks the payment
     * to stop and waits for its answer, so the cart never guesses whether money was taken. */
    tw_activity_options o = {.start_to_close_ms = 30000, .heartbeat_ms = 1000,
                             .retry = &charge_retry,
                             .cancellation_type = TW_CANCEL_WAIT_COMPLETED};
    tw_future *payment;
    tw_payload receipt;
    int rc = tw_start_activity(wf, "Charge", &o, &in, 1, &payment);
    if (rc == 0) /* cancelled meanwhile: the payment's own answer, 0 if it went through */
        rc = tw_await(wf, payment, &receipt);

    if (rc == 0) {
        c->status = CART_PAID;
        c->receipt = receipt; /* workflow memory: valid for the rest of the workflow task */
        *result = receipt;
        return 0;
    }
    c->status = CART_OPEN;
    c->coupon[0] = '\0';
    if (rc != TW_EFAILED)
        return rc; /* TW_ECANCELED: the update fails as cancelled */
    /* The caller sees why, with the activity's failure as the cause. */
    const tw_failure *why = tw_wf_last_failure(wf);
    char msg[160];
    snprintf(msg, sizeof(msg), "payment failed: %s", why->message ? why->message : "?");
    tw_failure f = {.type = "PaymentFailed", .message = msg, .non_retryable = 1,
                    .kind = TW_FAILURE_APPLICATION, .cause = why};
    return tw_wf_fail(wf, &f);
}

/* ---- the workflow ---- */

/* Conditions for tw_await_condition: they only read state, and run again whenever the
 * workflow's other code (a handler) has run. */
static int checkout_started(tw_wf *wf, void *arg)
{
    (void)wf;
    return ((cart *)arg)->status != CART_OPEN;
}
static int payment_settled(tw_wf *wf, void *arg)
{
    (void)wf;
    return ((cart *)arg)->status != CART_PAYING;
}
static int handlers_done(tw_wf *wf, void *arg)
{
    (void)arg;
    return tw_all_handlers_finished(wf);
}

static const tw_activity_options quick = {.start_to_close_ms = 10000};

/* Gives the items back (nothing to do for an empty cart). */
static int release_items(tw_wf *wf, const cart *c)
{
    if (c->nlines == 0)
        return 0;
    tw_payload items = cart_json(wf, c);
    return tw_execute_activity(wf, "ReleaseItems", &quick, &items, 1, NULL);
}

static int cart_wf(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    cart *c = tw_wf_alloc(wf, sizeof(*c));
    if (!c)
        return TW_ENOMEM;
    memset(c, 0, sizeof(*c));
    int64_t lifetime_ms = number_arg(args, nargs, 0, 3600 * 1000);

    /* Handlers first. Signals that came before (the one sent with signal-with-start, too) were
     * buffered and are handled, in order, before tw_set_signal_handler returns. */
    int rc = tw_set_signal_handler(wf, "add_item", on_item, c);
    if (rc == 0)
        rc = tw_set_signal_handler(wf, "remove_item", on_item, c);
    if (rc == 0)
        rc = tw_set_query_handler(wf, "cart", query_cart, c);
    if (rc == 0)
        rc = tw_set_update_handler(wf, "checkout", checkout, validate_checkout, c);

    /* Wait for a checkout to start, at most |lifetime_ms|: a durable timer that the runtime
     * cancels when the checkout comes first (it never fires, nor costs an invocation). Then
     * wait for the payment; a declined one opens the cart again, with a fresh timer. */
    while (rc == 0 && c->status != CART_PAID) {
        rc = tw_await_condition(wf, checkout_started, c, lifetime_ms);
        if (rc == 0)
            rc = tw_await_condition(wf, payment_settled, c, -1);
    }

    if (rc == TW_ETIMEDOUT) {
        c->status = CART_EXPIRED;
        rc = release_items(wf, c);
    } else if (rc == TW_ECANCELED) {
        /* Cancelled. Having seen it, this code runs on normally: close the cart to signals and
         * checkouts, let a payment in flight give its answer (its handler waits for it), then
         * give the items back unless they were paid for; a paid cart completes as usual. */
        if (c->status == CART_OPEN)
            c->status = CART_CANCELLED;
        rc = tw_await_condition(wf, handlers_done, NULL, -1);
        if (rc == 0 && c->status != CART_PAID) {
            c->status = CART_CANCELLED;
            rc = release_items(wf, c);
            return rc ? rc : TW_ECANCELED; /* the workflow ends cancelled */
        }
    }
    /* No update or signal handler may be cut short by the workflow's end. */
    if (rc == 0)
        rc = tw_await_condition(wf, handlers_done, NULL, -1);
    if (rc)
        return rc;
    *result = cart_json(wf, c);
    return 0;
}

/* ---- activities ---- */

static int charge(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long amount = number_arg(args, nargs, 0, -1);
    if (amount < 0 || amount > CARD_LIMIT_CENTS) {
        tw_failure f = {.type = "CardDeclined", .non_retryable = 1,
                        .message = amount < 0 ? "no amount" : "card declined: over 500.00"};
        return tw_act_fail(act, &f);
    }
    /* The provider's round trips, simulated. Heartbeats tell the activity when the workflow
     * asked to cancel it. */
    for (int i = 0; i < 20; i++) {
        struct timespec step = {0, 100 * 1000000L};
        nanosleep(&step, NULL);
        if (tw_heartbeat(act, NULL, 0) == TW_ECANCELED)
            return TW_ECANCELED; /* nothing charged: answered as cancelled */
    }
    const tw_act_info *info = tw_act_info_get(act);
    char *out = tw_act_alloc(act, 160);
    if (!out)
        return TW_ENOMEM;
    int n = snprintf(out, 160, "{\"payment_id\":\"pay-%.100s\",\"amount_cents\":%lld}",
                     info->workflow_id, amount);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
    return 0;
}

static int release(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "released %.*s", nargs ? (int)args[0].len : 0,
             nargs ? (const char *)args[0].data : "");
    tw_act_log(act, TW_LOG_INFO, msg);
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Cart", cart_wf, TW_PINNED);
    rc = rc ? rc : tw_register_activity(r, "Charge", charge);
    return rc ? rc : tw_register_activity(r, "ReleaseItems", release);
}

TW_LIBRARY(setup)
