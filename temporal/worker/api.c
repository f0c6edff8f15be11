/*
 * api: the tw_api table. See api.h.
 */
#include "temporal/worker/api.h"

#include <pthread.h>

#include "registry/reg.h"
#include "temporal/engine/wf.h"
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
    /* The workflow calls (wf_execute_activity .. wf_last_failure), until the engine exports
     * them by name. */
    wf_fill_api(&table);
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
