/*
 * api: the tw_api table. See api.h.
 */
#include "temporal/worker/api.h"

#include <pthread.h>

#include "registry/reg.h"
#include "temporal/engine/wf.h"
#include "temporal/engine/wf_api.h"
#include "temporal/worker/codec.h"
#include "temporal/worker/worker_int.h"

static tw_api table;
static int table_built; /* under table_mu */
/* A mutex rather than pthread_once, which glibc before 2.34 has only in libpthread (the shipped
 * bootstrap also runs there: runtime/glibc_compat.c). */
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;

static void build(void)
{
    table.abi_version = TW_ABI_VERSION;
    table.size = sizeof(tw_api);
    table.register_workflow = reg_register_workflow;
    table.register_activity = reg_register_activity;
    table.wf_execute_activity = wf_execute_activity;
    table.wf_start_activity = wf_start_activity;
    table.wf_sleep = wf_sleep;
    table.wf_start_timer = wf_start_timer;
    table.wf_await = wf_await;
    table.wf_select = wf_select;
    table.wf_now_ms = wf_now_ms;
    table.wf_random = wf_random;
    table.wf_info = wf_info;
    table.wf_alloc = wf_alloc;
    table.wf_log = wf_log;
    table.wf_fail = wf_fail;
    table.wf_last_failure = wf_last_failure;
    table.wf_go = wf_go;
    table.wf_await_condition = wf_await_condition;
    table.wf_cancel_requested = wf_cancel_requested;
    table.wf_cancel = wf_cancel;
    table.wf_cancel_external = wf_cancel_external;
    table.wf_set_signal_handler = wf_set_signal_handler;
    table.wf_signal_receive = wf_signal_receive;
    table.wf_signal_external = wf_signal_external;
    table.wf_all_handlers_finished = wf_all_handlers_finished;
    table.wf_handler_name = wf_handler_name;
    table.wf_set_query_handler = wf_set_query_handler;
    table.wf_set_update_handler = wf_set_update_handler;
    /* ABI 1.2 */
    table.wf_start_child = wf_start_child;
    table.wf_execute_child = wf_execute_child;
    table.wf_child_execution = wf_child_execution;
    table.wf_signal_child = wf_signal_child;
    table.wf_continue_as_new = wf_continue_as_new;
    table.wf_side_effect = wf_side_effect;
    table.wf_mutable_side_effect = wf_mutable_side_effect;
    table.wf_patched = wf_patched;
    table.wf_deprecate_patch = wf_deprecate_patch;
    table.wf_execute_local_activity = wf_execute_local_activity;
    table.wf_start_local_activity = wf_start_local_activity;
    table.wf_search_attribute = wf_search_attribute;
    table.wf_upsert_search_attributes = wf_upsert_search_attributes;
    table.wf_memo = wf_memo;
    table.wf_upsert_memo = wf_upsert_memo;
    table.wf_header = wf_header;
    table.wf_set_header = wf_set_header;
    table.act_header = act_header;
    table.register_codec = reg_register_codec;
    table.codec_alloc = codec_alloc;
    table.codec_error = codec_error;
    table.codec_marshal = codec_marshal;
    table.codec_unmarshal = codec_unmarshal;
    table.register_dynamic_workflow = reg_register_dynamic_workflow;
    table.register_dynamic_activity = reg_register_dynamic_activity;
    table.register_stop_hook = reg_register_stop_hook;
    table.act_worker_stopping = act_worker_stopping;
    table.act_info = act_info;
    table.act_heartbeat = act_heartbeat;
    table.act_cancelled = act_cancelled;
    table.act_alloc = act_alloc;
    table.act_log = act_log;
    table.act_fail = act_fail;
}

const tw_api *api_table(void)
{
    pthread_mutex_lock(&table_mu);
    if (!table_built) {
        build();
        table_built = 1;
    }
    pthread_mutex_unlock(&table_mu);
    return &table;
}
