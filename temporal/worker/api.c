/*
 * api: the tw_api table. See api.h.
 */
#include "temporal/worker/api.h"

#include <pthread.h>

#include "registry/reg.h"
#include "temporal/engine/wf.h"
#include "temporal/engine/wf_api.h"
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
