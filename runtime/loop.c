/*
 * rt_loop: drives a handler through the Lambda invocation cycle. Errors of one invocation are
 * posted to its /error; only the Runtime API being gone (or broken) ends the process.
 */
#define _POSIX_C_SOURCE 200809L
#include "loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "log.h"

void rt_error_set(rt_error *e, const char *type, const char *fmt, ...)
{
    va_list ap;
    snprintf(e->type, sizeof(e->type), "%s", type);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/* Whether the process must end after |rc| from a call to the Runtime API. */
static int fatal(int rc)
{
    return rc == RT_EFATAL || rc == RT_ETRANSPORT || rc == RT_ENOMEM;
}

static int finish(rt_client *c, const rt_invocation *inv, int ok, rt_result *res)
{
    int rc;
    if (ok) {
        rc = rt_respond(c, inv, res->body, res->len);
        if (rc == RT_ETOOLARGE)
            log_error("response of %zu bytes refused as too large: %s", res->len,
                      rt_client_errmsg(c));
    } else {
        if (!res->err.type[0])
            rt_error_set(&res->err, "Function.Unhandled", "handler failed without a reason");
        log_error("invocation failed: %s: %s", res->err.type, res->err.message);
        rc = rt_fail(c, inv, res->err.type, res->err.message);
    }
    if (rc == RT_EGONE)
        log_warn("invocation already gone (timed out): %s", rt_client_errmsg(c));
    else if (rc != RT_OK && !fatal(rc))
        log_error("result not accepted: %s", rt_client_errmsg(c));
    return fatal(rc) ? rc : RT_OK;
}

int rt_main(const rt_handler *h)
{
    char err[256];
    rt_client *c = NULL;
    void *state = NULL;
    int status = 1;

    log_init();
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (rt_client_new(&c, api, NULL, err, sizeof(err)) != RT_OK) {
        /* Without the API there is nobody to tell but the log. */
        log_write(LOG_FATAL, "%s", err);
        return 1;
    }

    rt_error ierr = {{0}, {0}};
    if (h->init(&state, &ierr) != 0) {
        if (!ierr.type[0])
            rt_error_set(&ierr, "Runtime.InitError", "initialisation failed");
        log_write(LOG_FATAL, "%s: %s", ierr.type, ierr.message);
        if (rt_init_error(c, ierr.type, ierr.message) != RT_OK)
            log_error("could not report the init error: %s", rt_client_errmsg(c));
        goto out;
    }

    for (;;) {
        rt_invocation inv;
        int rc = rt_next(c, &inv);
        if (rc == RT_EPROTO) {
            log_error("%s", rt_client_errmsg(c));
            if (!inv.request_id)
                goto out; /* nothing to answer: the API is not speaking Lambda */
            rt_result bad = {0};
            rt_error_set(&bad.err, "Runtime.InvalidInvocation", "%s", rt_client_errmsg(c));
            if (finish(c, &inv, 0, &bad) != RT_OK)
                goto out;
            continue;
        }
        if (rc != RT_OK) {
            log_write(LOG_FATAL, "next: %s", rt_client_errmsg(c));
            goto out;
        }
        log_set_request_id(inv.request_id);
        log_set_trace_id(inv.trace_id); /* as _X_AMZN_TRACE_ID (rt_next) */
        rt_result res = {0};
        int ok = h->invoke(state, &inv, &res) == 0;
        rc = finish(c, &inv, ok, &res);
        free(res.body);
        if (res.restart) {
            /* A thread is stuck in user code and cannot be reclaimed: leave at once, without
             * destroying what that thread may still be using. */
            log_write(LOG_FATAL, "ending the runtime after a stuck task; Lambda starts a fresh one");
            _exit(2);
        }
        log_set_request_id(NULL);
        log_set_trace_id(NULL);
        if (rc != RT_OK) {
            log_write(LOG_FATAL, "%s", rt_client_errmsg(c));
            goto out;
        }
    }
out:
    if (h->destroy && state)
        h->destroy(state);
    rt_client_free(c);
    return status;
}
