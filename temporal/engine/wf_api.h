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

/* ABI 1.2: child.c */
int wf_start_child(tw_wf *wf, const char *type, const tw_child_options *o,
                   const tw_payload *args, size_t nargs, tw_future **started, tw_future **result);
int wf_execute_child(tw_wf *wf, const char *type, const tw_child_options *o,
                     const tw_payload *args, size_t nargs, tw_payload *result);
int wf_child_execution(tw_wf *wf, tw_future *child, const char **workflow_id, const char **run_id);
int wf_signal_child(tw_wf *wf, tw_future *child, const char *signal, const tw_payload *args,
                    size_t nargs, tw_future **out);
/* can.c */
int wf_continue_as_new(tw_wf *wf, const tw_continue_options *o, const tw_payload *args,
                       size_t nargs);
/* marker.c */
int wf_side_effect(tw_wf *wf, tw_side_effect_fn fn, void *arg, tw_payload *result);
int wf_mutable_side_effect(tw_wf *wf, const char *id, tw_side_effect_fn fn, void *arg,
                           tw_payload *result);
int wf_patched(tw_wf *wf, const char *patch_id);
int wf_deprecate_patch(tw_wf *wf, const char *patch_id);
/* local.c */
int wf_execute_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                              const tw_payload *args, size_t nargs, tw_payload *result);
int wf_start_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_future **out);
/* props.c */
const tw_payload *wf_search_attribute(tw_wf *wf, const char *name);
int wf_upsert_search_attributes(tw_wf *wf, const tw_search_attribute *sa, size_t n);
const tw_payload *wf_memo(tw_wf *wf, const char *key);
int wf_upsert_memo(tw_wf *wf, const char *key, const tw_payload *value);
const tw_payload *wf_header(tw_wf *wf, const char *key);
int wf_set_header(tw_wf *wf, const char *key, const tw_payload *value);

#endif
