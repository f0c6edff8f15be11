/*
 * wf_api: the workflow calls of tw.h, exported by name for the one place that builds the
 * tw_api table (temporal/worker/api.c): each function here is the entry of the same name in
 * tw_api (wf_sleep is api->wf_sleep), and tw.h documents what it does for user code.
 *
 * Each returns TW_ESTATE (or NULL / 0) when called outside the code of a workflow task (its
 * coroutine), and TW_ENOMEM once the task's memory ran out (the task then fails and is
 * retried, whatever the code does next). Threading: the workflow task's thread only.
 */
#ifndef TW_WF_API_H
#define TW_WF_API_H

#include <stddef.h>
#include <stdint.h>

#include "tw.h"

int wf_execute_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                        const tw_payload *args, size_t nargs, tw_payload *result);
int wf_start_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                      const tw_payload *args, size_t nargs, tw_future **out);
int wf_sleep(tw_wf *wf, int64_t ms);
int wf_start_timer(tw_wf *wf, int64_t ms, tw_future **out);
int wf_await(tw_wf *wf, tw_future *f, tw_payload *result);
int wf_select(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready);
int64_t wf_now_ms(tw_wf *wf);
uint64_t wf_random(tw_wf *wf);
const tw_wf_info *wf_info(tw_wf *wf);
void *wf_alloc(tw_wf *wf, size_t n);
void wf_log(tw_wf *wf, int level, const char *msg);
int wf_fail(tw_wf *wf, const tw_failure *f);
const tw_failure *wf_last_failure(tw_wf *wf);
/* ABI 1.1 */
int wf_go(tw_wf *wf, tw_coroutine_fn fn, void *arg, tw_future **out);
int wf_await_condition(tw_wf *wf, tw_condition_fn pred, void *arg, int64_t timeout_ms);
int wf_cancel_requested(tw_wf *wf);
int wf_cancel(tw_wf *wf, tw_future *f);
int wf_cancel_external(tw_wf *wf, const char *workflow_id, const char *run_id, tw_future **out);
int wf_set_signal_handler(tw_wf *wf, const char *name, tw_signal_fn fn, void *arg);
int wf_signal_receive(tw_wf *wf, const char *name, tw_payload **args, size_t *nargs,
                      int64_t timeout_ms);
int wf_signal_external(tw_wf *wf, const char *workflow_id, const char *run_id,
                       const char *signal, const tw_payload *args, size_t nargs,
                       tw_future **out);
int wf_all_handlers_finished(tw_wf *wf);
const char *wf_handler_name(tw_wf *wf);

/* query.c, update.c */
int wf_set_query_handler(tw_wf *wf, const char *name, tw_query_fn fn, void *arg);
int wf_set_update_handler(tw_wf *wf, const char *name, tw_update_fn fn,
                          tw_update_validator_fn validator, void *arg);

#endif
