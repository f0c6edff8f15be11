/*
 * can: continue-as-new, and the workflow's info (tw_wf_info) as the history and the worker
 * give it.
 *
 * tw_continue_as_new() only prepares the continuation (a copy of the arguments and options in
 * the run's arena) and returns TW_ECONTINUE_AS_NEW; when the workflow function returns that
 * code, the closing command is ContinueAsNewWorkflowExecution (wf_can_close, from wf.c), as
 * sdk-go ends a run only when the function returns its ContinueAsNewError. The command is
 * recorded as WorkflowExecutionContinuedAsNew, which the replay matches by its type alone
 * (cmd.c), as the other closing commands.
 *
 * Info: what the worker knows (namespace, its deployment version) when the run is made
 * (wf_info_init), what WorkflowExecutionStarted says (wf_info_started), and, at every task,
 * what its WorkflowTaskStarted says (wf_info_task): history length and size, the server's
 * continue-as-new suggestion. Strings point into the kept started event or the run's arena.
 *
 * What it does not do: the new run itself (the server starts it); the memo, search attributes
 * and header it carries are props.c's.
 */
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes can_attrs;
typedef Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes started_attrs;

/* The continuation tw_continue_as_new() prepared, in the run's arena. */
struct wf_can {
    const char *workflow_type;   /* NULL: the workflow's */
    const char *task_queue;      /* NULL: the workflow's */
    int64_t run_timeout_ms, task_timeout_ms;
    int initial_versioning;      /* TW_CAN_VERSIONING_* */
    pb_payloads *input;          /* NULL: no arguments */
};

/* The fields of tw_continue_options a library built against this ABI has (all of them: the
 * struct is new in 1.2; later fields would be read by abi_minor). */
static int options_valid(const tw_continue_options *o)
{
    return !o || (o->run_timeout_ms >= 0 && o->task_timeout_ms >= 0 &&
                  o->initial_versioning >= TW_CAN_VERSIONING_INHERIT &&
                  o->initial_versioning <= TW_CAN_VERSIONING_USE_RAMPING);
}

int wf_continue_as_new(tw_wf *wf, const tw_continue_options *o, const tw_payload *args,
                       size_t nargs)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!options_valid(o) || (nargs && !args) || !payloads_valid(args, nargs))
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    struct wf_can *c = wf_mem(wf, sizeof(*c));
    if (!c)
        return TW_ENOMEM;
    memset(c, 0, sizeof(*c));
    if (o) {
        c->workflow_type = o->workflow_type && *o->workflow_type ? wf_strdup(wf, o->workflow_type)
                                                                 : NULL;
        c->task_queue = o->task_queue && *o->task_queue ? wf_strdup(wf, o->task_queue) : NULL;
        c->run_timeout_ms = o->run_timeout_ms;
        c->task_timeout_ms = o->task_timeout_ms;
        c->initial_versioning = o->initial_versioning;
    }
    c->input = nargs ? wf_payloads(wf, args, nargs) : NULL;
    if (wf->oom)
        return TW_ENOMEM;
    wf->can = c; /* replaces an earlier one, as a new ContinueAsNewError would */
    return TW_ECONTINUE_AS_NEW;
}

/* A duration of |ms| in the run's arena, or NULL for 0 (the server then keeps this run's). */
static pb_duration *duration_or_null(tw_wf *wf, int64_t ms)
{
    if (!ms)
        return NULL;
    pb_duration *d = duration_ms(wf->a, ms);
    if (!d)
        wf->oom = 1;
    return d;
}

static pb_task_queue *task_queue(tw_wf *wf, const char *name)
{
    pb_task_queue *tq = wf_mem(wf, sizeof(*tq));
    if (!tq)
        return NULL;
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    tq->name = (char *)(name ? name : "");
    tq->kind = TQ_KIND_NORMAL;
    return tq;
}

/* The command's attributes from |c|, with this run's defaults. NULL (wf->oom) when out of
 * memory. */
static can_attrs *attributes(tw_wf *wf, const struct wf_can *c)
{
    can_attrs *at = wf_mem(wf, sizeof(*at));
    Temporal__Api__Common__V1__WorkflowType *type = wf_mem(wf, sizeof(*type));
    if (!at || !type)
        return NULL;
    temporal__api__command__v1__continue_as_new_workflow_execution_command_attributes__init(at);
    temporal__api__common__v1__workflow_type__init(type);
    type->name = (char *)(c->workflow_type ? c->workflow_type
                          : wf->info.workflow_type ? wf->info.workflow_type : "");
    at->workflow_type = type;
    at->task_queue = task_queue(wf, c->task_queue ? c->task_queue : wf->info.task_queue);
    at->input = c->input;
    at->workflow_run_timeout = duration_or_null(wf, c->run_timeout_ms);
    at->workflow_task_timeout = duration_or_null(wf, c->task_timeout_ms);
    at->header = wf_outgoing_header(wf);
    /* As sdk-go: the run's memo and search attributes as they are now (the start's and the
     * code's upserts) go on. */
    at->memo = wf_props_memo(wf);
    at->search_attributes = wf_props_search_attributes(wf);
    at->initial_versioning_behavior =
        (Temporal__Api__Enums__V1__ContinueAsNewVersioningBehavior)c->initial_versioning;
    return wf->oom ? NULL : at;
}

int wf_can_close(tw_wf *wf)
{
    if (!wf->can) {
        static const tw_failure none = {
            .type = "WorkflowError",
            .message = "the workflow returned TW_ECONTINUE_AS_NEW without tw_continue_as_new()"};
        if (!wf->main->failure)
            wf->main->failure = (tw_failure *)&none;
        return 0;
    }
    can_attrs *at = attributes(wf, wf->can);
    if (at)
        wf_push_cmd(wf, CMD(CONTINUE_AS_NEW_WORKFLOW_EXECUTION),
                    cmd_new(wf->a, CMD(CONTINUE_AS_NEW_WORKFLOW_EXECUTION), at), NULL);
    return 1;
}

/* ---- info ---- */

/* |s|, or NULL when it is empty (an unset proto string). */
static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

int wf_info_init(tw_wf *wf, const wf_input *in)
{
    wf->info.size = (uint32_t)sizeof(tw_wf_info);
    wf->info.namespace_name = in->namespace_name ? arena_strdup(wf->a, in->namespace_name) : NULL;
    wf->info.deployment_name = nonempty(in->deployment_name)
                                   ? arena_strdup(wf->a, in->deployment_name) : NULL;
    wf->info.build_id = nonempty(in->build_id) ? arena_strdup(wf->a, in->build_id) : NULL;
    /* Until the started event says otherwise: a run of its own, first of its chain. */
    wf->info.root_workflow_id = wf->info.workflow_id;
    wf->info.root_run_id = wf->info.run_id;
    wf->info.first_run_id = wf->info.run_id;
    if ((in->namespace_name && !wf->info.namespace_name) ||
        (nonempty(in->deployment_name) && !wf->info.deployment_name) ||
        (nonempty(in->build_id) && !wf->info.build_id))
        return -1;
    return 0;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? time_to_ms(t->seconds, t->nanos) : 0;
}

void wf_info_started(tw_wf *wf, const pb_event *ev)
{
    const started_attrs *at = ev->workflow_execution_started_event_attributes;
    tw_wf_info *i = &wf->info;
    i->start_time_ms = ts_ms(ev->event_time);
    i->parent_namespace = nonempty(at->parent_workflow_namespace);
    if (at->parent_workflow_execution) {
        i->parent_workflow_id = nonempty(at->parent_workflow_execution->workflow_id);
        i->parent_run_id = nonempty(at->parent_workflow_execution->run_id);
    }
    if (at->root_workflow_execution && nonempty(at->root_workflow_execution->workflow_id)) {
        i->root_workflow_id = at->root_workflow_execution->workflow_id;
        i->root_run_id = nonempty(at->root_workflow_execution->run_id);
    }
    if (nonempty(at->first_execution_run_id))
        i->first_run_id = at->first_execution_run_id;
    i->continued_run_id = nonempty(at->continued_execution_run_id);
    i->cron_schedule = nonempty(at->cron_schedule);
    i->execution_timeout_ms = duration_to_ms(at->workflow_execution_timeout);
    i->run_timeout_ms = duration_to_ms(at->workflow_run_timeout);
    i->task_timeout_ms = duration_to_ms(at->workflow_task_timeout);
}

#define CAN_REASON(name) \
    TEMPORAL__API__ENUMS__V1__SUGGEST_CONTINUE_AS_NEW_REASON__SUGGEST_CONTINUE_AS_NEW_REASON_##name

/* The TW_CAN_REASON_* bits of the server's SuggestContinueAsNewReason values; values this
 * runtime does not know are left out. */
static uint32_t reasons_mask(const Temporal__Api__Enums__V1__SuggestContinueAsNewReason *r,
                             size_t n)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        switch ((int)r[i]) {
        case CAN_REASON(HISTORY_SIZE_TOO_LARGE):
            mask |= TW_CAN_REASON_HISTORY_SIZE_TOO_LARGE;
            break;
        case CAN_REASON(TOO_MANY_HISTORY_EVENTS):
            mask |= TW_CAN_REASON_TOO_MANY_HISTORY_EVENTS;
            break;
        case CAN_REASON(TOO_MANY_UPDATES):
            mask |= TW_CAN_REASON_TOO_MANY_UPDATES;
            break;
        case 4: /* TARGET_WORKER_DEPLOYMENT_VERSION_CHANGED, reserved since the API moved it to
                 * target_worker_deployment_version_changed; older servers may still send it */
            mask |= TW_CAN_REASON_TARGET_VERSION_CHANGED;
            break;
        default:
            break;
        }
    }
    return mask;
}

void wf_info_task(tw_wf *wf, const pb_event *ev)
{
    if (ev->event_type != EV(WORKFLOW_TASK_STARTED))
        return; /* a legacy query's last event: the last task's values stay */
    wf->info.history_length = ev->event_id; /* as the SDKs count it */
    if (ev->attributes_case !=
        TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_STARTED_EVENT_ATTRIBUTES)
        return;
    const Temporal__Api__History__V1__WorkflowTaskStartedEventAttributes *at =
        ev->workflow_task_started_event_attributes;
    wf->info.history_size_bytes = at->history_size_bytes;
    wf->info.continue_as_new_suggested = at->suggest_continue_as_new != 0;
    wf->info.target_version_changed = at->target_worker_deployment_version_changed != 0;
    wf->info.continue_as_new_reasons =
        at->suggest_continue_as_new ? reasons_mask(at->suggest_continue_as_new_reasons,
                                                   at->n_suggest_continue_as_new_reasons)
                                    : 0;
}
