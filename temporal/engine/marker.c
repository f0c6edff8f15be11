/*
 * marker: side effects, mutable side effects and patches, recorded as markers (RecordMarker ->
 * MarkerRecorded, cmd.c's marker rows) and replayed from them.
 *
 * The markers, as the official SDKs write them:
 *   "SideEffect"         side-effect-id: the call's number (JSON int, 1, 2, ...); data: result
 *   "MutableSideEffect"  side-effect-id: "<id>_<call>" (JSON string, the call of |id| that
 *                        recorded it); data: the value; mutable-side-effect-call-counter: call
 *   "core_patch"         patch_id: JSON string; deprecated: JSON bool (the core SDK's, which
 *                        TypeScript, Python and .NET replay), followed, when first made, by an
 *                        UpsertWorkflowSearchAttributes of TemporalChangeVersion: the run's
 *                        patch ids, a JSON list
 *
 * Replay: the code of a task runs before the history says what its commands were (they are
 * recorded after the task), so, as sdk-go's and the core SDK's look-ahead, the markers of the
 * next batch are read before the code of a replayed batch runs (wf_markers_batch): a side
 * effect then returns its recorded result, patched() knows whether the run has the patch.
 * The command the call makes then matches the marker event as any command does (wf.c).
 *
 * What this file does not do: match commands to events (wf.c, cmd.c), local activities'
 * markers (local.c). Threading: the workflow task's thread only.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "temporal/engine/history.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

#define SIDE_EFFECT "SideEffect"
#define MUTABLE_SIDE_EFFECT "MutableSideEffect"
#define PATCH "core_patch"
#define KEY_ID "side-effect-id"
#define KEY_DATA "data"
#define KEY_COUNTER "mutable-side-effect-call-counter"
#define KEY_PATCH "patch_id"
#define KEY_DEPRECATED "deprecated"
#define CHANGE_VERSION "TemporalChangeVersion"
/* The largest TemporalChangeVersion value written, as the official SDKs (the server refuses
 * bigger search attribute values; the upsert is left out, the marker still made). */
#define CHANGE_VERSION_MAX 2048

typedef Temporal__Api__Command__V1__RecordMarkerCommandAttributes marker_attrs;
typedef Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry marker_entry;
typedef Temporal__Api__Command__V1__UpsertWorkflowSearchAttributesCommandAttributes upsert_attrs;
typedef Temporal__Api__Common__V1__SearchAttributes pb_search_attributes;
typedef Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry sa_entry;

enum { K_SIDE_EFFECT = 1, K_MUTABLE };

/* A side effect's or mutable side effect's marker the history has, read ahead, until the
 * call it records takes it. */
typedef struct recorded {
    int kind;
    const char *id;            /* a mutable side effect's id */
    int64_t seq;               /* the side effect's number; the mutable one's call */
    tw_payload value;
    struct recorded *next;
} recorded;

/* A patch the history or the code named. */
typedef struct patch {
    const char *id;
    int in_history;            /* a marker read ahead has it */
    int upserted;              /* that marker is followed by its TemporalChangeVersion upsert */
    int asked;                 /* the code asked: |value| is what it was told */
    int value;
    struct patch *next;
} patch;

/* A mutable side effect's id: its calls so far and its current value. */
typedef struct mutable_id {
    const char *id;
    int64_t calls;
    int has;
    tw_payload value;
    struct mutable_id *next;
} mutable_id;

struct wf_markers {
    int64_t side_effects;      /* tw_side_effect calls so far */
    recorded *recorded;
    patch *patches, **patches_tail;
    mutable_id *mutables;
    int64_t passed_over;       /* the last marker event passed over (wf_marker_passed_over) */
    int beyond;                /* the code runs past the history's end (a legacy query's last
                                * batch): nothing to replay, its calls act as when live */
};

static struct wf_markers *markers(tw_wf *wf)
{
    if (!wf->markers && (wf->markers = wf_mem(wf, sizeof(*wf->markers)))) {
        memset(wf->markers, 0, sizeof(*wf->markers));
        wf->markers->patches_tail = &wf->markers->patches;
    }
    return wf->markers;
}

/* ---- non-determinism ---- */

static int never(tw_wf *wf, void *ctx) { return 0; }

void wf_nondeterminism(tw_wf *wf, const char *fmt, ...)
{
    if (!wf->nondeterminism) {
        char msg[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        wf->nondeterminism = wf_strdup(wf, msg);
        if (!wf->nondeterminism)
            wf->nondeterminism = "non-deterministic workflow code (out of memory for the message)";
    }
    for (;;)
        wf_block(wf, never, NULL, "non-determinism: the task fails");
}

/* ---- payloads of the details ---- */

/* |p| copied into the run's arena (bytes included), so it outlives the task. */
static int keep_payload(tw_wf *wf, const tw_payload *p, tw_payload *out)
{
    *out = (tw_payload){.encoding = p->encoding ? wf_strdup(wf, p->encoding) : NULL, .len = p->len};
    if (p->len && !(out->data = arena_memdup(wf->a, p->data, p->len)))
        wf->oom = 1;
    return wf->oom ? -1 : 0;
}

/* The first payload of |pb| as a view (bytes borrowed from the event), or binary/null. */
static tw_payload first_payload(tw_wf *wf, const pb_payloads *pb)
{
    if (!pb || !pb->n_payloads || !pb->payloads[0])
        return tw_null();
    return payload_from_pb(wf->ta, pb->payloads[0]);
}

/* The JSON text of |pb|'s first payload, NUL-terminated in the task's arena, or NULL. */
static char *json_text(tw_wf *wf, const pb_payloads *pb)
{
    if (!pb || !pb->n_payloads || !pb->payloads[0])
        return NULL;
    const ProtobufCBinaryData *d = &pb->payloads[0]->data;
    char *s = wf_tmem(wf, d->len + 1);
    if (s) {
        if (d->len)
            memcpy(s, d->data, d->len);
        s[d->len] = '\0';
    }
    return s;
}

/* A JSON string's value (|pb|'s first payload), in the run's arena; NULL when it is not one. */
static char *json_string_of(tw_wf *wf, const pb_payloads *pb)
{
    char *text = json_text(wf, pb), *out = NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (cJSON_IsString(j))
        out = wf_strdup(wf, j->valuestring);
    cJSON_Delete(j);
    return out;
}

/* A JSON integer's value (|pb|'s first payload): 0, or -1 when it is not one. */
static int json_int_of(tw_wf *wf, const pb_payloads *pb, int64_t *out)
{
    char *text = json_text(wf, pb), *end;
    if (!text)
        return -1;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end)
        return -1;
    *out = v;
    return 0;
}

/* A JSON payload (json/plain) of |text| (copied) as a one-payload Payloads, in the run's
 * arena. */
static pb_payloads *json_payloads(tw_wf *wf, const char *text)
{
    tw_payload p = {"json/plain", (const uint8_t *)text, strlen(text)};
    return wf_payloads(wf, &p, 1);
}

/* |s| as a JSON string, malloc'd (cJSON's escaping); NULL out of memory. */
static char *json_quote(const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return out;
}

/* ---- making markers ---- */

/* A RecordMarker command named |name| with |n| details (|keys| / |values|, each a Payloads
 * in the run's arena), queued. 0, or TW_ENOMEM. */
static int record(tw_wf *wf, const char *name, const char *const *keys, pb_payloads *const *values,
                  size_t n)
{
    marker_attrs *at = wf_mem(wf, sizeof(*at));
    marker_entry **entries = wf_mem(wf, n * sizeof(*entries));
    if (!at || !entries)
        return TW_ENOMEM;
    temporal__api__command__v1__record_marker_command_attributes__init(at);
    at->marker_name = (char *)name;
    for (size_t i = 0; i < n; i++) {
        if (!values[i] || !(entries[i] = wf_mem(wf, sizeof(*entries[i]))))
            return wf->oom = 1, TW_ENOMEM;
        temporal__api__command__v1__record_marker_command_attributes__details_entry__init(entries[i]);
        entries[i]->key = (char *)keys[i];
        entries[i]->value = values[i];
    }
    at->n_details = n;
    at->details = entries;
    wf_push_cmd(wf, CMD(RECORD_MARKER), cmd_new(wf->a, CMD(RECORD_MARKER), at), NULL);
    return wf->oom ? TW_ENOMEM : TW_OK;
}

/* ---- reading ahead ---- */

static patch *find_patch(struct wf_markers *m, const char *id)
{
    for (patch *p = m->patches; p; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

static patch *add_patch(tw_wf *wf, const char *id)
{
    struct wf_markers *m = markers(wf);
    patch *p = m ? find_patch(m, id) : NULL;
    if (p || !m)
        return p;
    if (!(p = wf_mem(wf, sizeof(*p))))
        return NULL;
    *p = (patch){.id = wf_strdup(wf, id)};
    if (!p->id)
        return NULL;
    *m->patches_tail = p;
    m->patches_tail = &p->next;
    return p;
}

/* Does |ev| upsert TemporalChangeVersion? */
static int change_version_upsert(const pb_event *ev)
{
    if (!ev || ev->event_type != EV(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) ||
        ev->attributes_case !=
            TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_EVENT_ATTRIBUTES)
        return 0;
    const pb_search_attributes *sa =
        ev->upsert_workflow_search_attributes_event_attributes->search_attributes;
    for (size_t i = 0; sa && i < sa->n_indexed_fields; i++)
        if (sa->indexed_fields[i]->key && strcmp(sa->indexed_fields[i]->key, CHANGE_VERSION) == 0)
            return 1;
    return 0;
}

static const char *marker_name(const pb_event *ev)
{
    return ev->marker_recorded_event_attributes->marker_name;
}

/* A patch marker read ahead (|next|: the event after it, or NULL). */
static int read_patch(tw_wf *wf, const pb_event *ev, const pb_event *next)
{
    const char *id = json_string_of(wf, ev_marker_detail(ev, KEY_PATCH));
    if (!id)
        return 0; /* not one of ours to replay: the code's command will not match it */
    patch *p = add_patch(wf, id);
    if (!p)
        return -1;
    p->in_history = 1;
    p->upserted = change_version_upsert(next);
    return 0;
}

static int read_side_effect(tw_wf *wf, const pb_event *ev, int kind)
{
    struct wf_markers *m = markers(wf);
    recorded *r = m ? wf_mem(wf, sizeof(*r)) : NULL;
    if (!r)
        return -1;
    *r = (recorded){.kind = kind};
    if (kind == K_SIDE_EFFECT) {
        if (json_int_of(wf, ev_marker_detail(ev, KEY_ID), &r->seq))
            return 0; /* unreadable: the call finds no marker and says so */
    } else {
        char *idc = json_string_of(wf, ev_marker_detail(ev, KEY_ID));
        char *us = idc ? strrchr(idc, '_') : NULL;
        if (!us || json_int_of(wf, ev_marker_detail(ev, KEY_COUNTER), &r->seq))
            return 0;
        *us = '\0';
        r->id = idc;
    }
    tw_payload v = first_payload(wf, ev_marker_detail(ev, KEY_DATA));
    if (keep_payload(wf, &v, &r->value))
        return -1;
    r->next = m->recorded;
    m->recorded = r;
    return 0;
}

int wf_markers_batch(tw_wf *wf, history_iter *h, const history_batch *b)
{
    /* The state is made only when there is something to keep (most runs have no marker). */
    if (wf->markers || (b->last && wf->query_only)) {
        struct wf_markers *m = markers(wf);
        if (!m)
            return 0; /* wf->oom: the task fails */
        m->beyond = b->last;
    }
    if (b->last)
        return 0;
    history_batch next;
    int rc = history_peek(h, &next);
    if (rc < 0)
        return -1;
    for (size_t i = 0; rc == 1 && i < next.n && !wf->oom; i++) {
        const pb_event *ev = next.events[i];
        if (ev->event_type != EV(MARKER_RECORDED) ||
            ev->attributes_case != TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES)
            continue;
        const char *name = marker_name(ev);
        int r = 0;
        if (strcmp(name, PATCH) == 0)
            r = read_patch(wf, ev, i + 1 < next.n ? next.events[i + 1] : NULL);
        else if (strcmp(name, SIDE_EFFECT) == 0)
            r = read_side_effect(wf, ev, K_SIDE_EFFECT);
        else if (strcmp(name, MUTABLE_SIDE_EFFECT) == 0)
            r = read_side_effect(wf, ev, K_MUTABLE);
        if (r)
            wf->oom = 1;
    }
    return 0;
}

/* The recorded marker of |kind| for call |seq| (of |id|), taken off the list; NULL if none. */
static recorded *take(struct wf_markers *m, int kind, const char *id, int64_t seq)
{
    for (recorded **p = &m->recorded; *p; p = &(*p)->next) {
        recorded *r = *p;
        if (r->kind == kind && r->seq == seq && (!id || (r->id && strcmp(r->id, id) == 0))) {
            *p = r->next;
            return r;
        }
    }
    return NULL;
}

/* Does the code's call replay a marker (else it runs live and records one)? */
static int replaying(tw_wf *wf)
{
    return wf->replaying && !(wf->markers && wf->markers->beyond);
}

/* ---- passing over ---- */

int wf_marker_passed_over(tw_wf *wf, const pb_event *ev)
{
    struct wf_markers *m = wf->markers;
    if (change_version_upsert(ev) && m && m->passed_over && m->passed_over == ev->event_id - 1)
        return 1; /* the upsert that came with a deprecated patch passed over */
    if (ev->event_type != EV(MARKER_RECORDED) || strcmp(marker_name(ev), PATCH) != 0)
        return 0;
    char *text = json_text(wf, ev_marker_detail(ev, KEY_DEPRECATED));
    if (!text || strcmp(text, "true") != 0 || !(m = markers(wf)))
        return 0;
    m->passed_over = ev->event_id;
    return 1;
}

/* ---- side effects ---- */

int wf_side_effect(tw_wf *wf, tw_side_effect_fn fn, void *arg, tw_payload *result)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!fn || !result)
        return TW_EINVAL;
    struct wf_markers *m = markers(wf);
    if (!m || wf->oom)
        return TW_ENOMEM;
    int64_t seq = m->side_effects + 1;
    tw_payload value;
    if (replaying(wf)) {
        recorded *r = take(m, K_SIDE_EFFECT, NULL, seq);
        if (!r)
            wf_nondeterminism(wf, "tw_side_effect call %lld has no SideEffect marker in the "
                              "history (non-deterministic: the code changed since this run "
                              "started)", (long long)seq);
        value = r->value;
    } else {
        tw_payload got = tw_null();
        wf->running->in_condition = 1; /* fn must not block or make commands */
        int rc = fn(wf, arg, &got);
        wf->running->in_condition = 0;
        if (rc < 0)
            return rc;
        if (!payloads_valid(&got, 1))
            return TW_EINVAL;
        if (keep_payload(wf, &got, &value))
            return TW_ENOMEM;
    }
    m->side_effects = seq;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)seq);
    const char *keys[] = {KEY_ID, KEY_DATA};
    pb_payloads *values[] = {json_payloads(wf, id), wf_payloads(wf, &value, 1)};
    int rc = record(wf, SIDE_EFFECT, keys, values, 2);
    if (rc)
        return rc;
    *result = value;
    return TW_OK;
}

static mutable_id *mutable_of(tw_wf *wf, struct wf_markers *m, const char *id)
{
    for (mutable_id *v = m->mutables; v; v = v->next)
        if (strcmp(v->id, id) == 0)
            return v;
    mutable_id *v = wf_mem(wf, sizeof(*v));
    if (!v || !(*v = (mutable_id){.id = wf_strdup(wf, id)}).id)
        return NULL;
    v->next = m->mutables;
    m->mutables = v;
    return v;
}

static int same_value(const tw_payload *a, const tw_payload *b)
{
    const char *ea = a->encoding ? a->encoding : "", *eb = b->encoding ? b->encoding : "";
    return strcmp(ea, eb) == 0 && a->len == b->len &&
           (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static int record_mutable(tw_wf *wf, mutable_id *v)
{
    char *quoted = NULL, counter[24];
    size_t n = strlen(v->id) + 24;
    char *idc = wf_tmem(wf, n);
    if (idc) {
        snprintf(idc, n, "%s_%lld", v->id, (long long)v->calls);
        quoted = json_quote(idc);
    }
    if (!quoted)
        return wf->oom = 1, TW_ENOMEM;
    snprintf(counter, sizeof(counter), "%lld", (long long)v->calls);
    const char *keys[] = {KEY_ID, KEY_DATA, KEY_COUNTER};
    pb_payloads *values[] = {json_payloads(wf, quoted), wf_payloads(wf, &v->value, 1),
                             json_payloads(wf, counter)};
    free(quoted);
    return record(wf, MUTABLE_SIDE_EFFECT, keys, values, 3);
}

int wf_mutable_side_effect(tw_wf *wf, const char *id, tw_side_effect_fn fn, void *arg,
                           tw_payload *result)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!id || !*id || !fn || !result)
        return TW_EINVAL;
    struct wf_markers *m = markers(wf);
    mutable_id *v = m ? mutable_of(wf, m, id) : NULL;
    if (!v || wf->oom)
        return TW_ENOMEM;
    v->calls++;
    if (replaying(wf)) {
        recorded *r = take(m, K_MUTABLE, id, v->calls);
        if (r) { /* the value changed at this call: its marker is the command's match */
            v->value = r->value, v->has = 1;
            int rc = record_mutable(wf, v);
            if (rc)
                return rc;
        } else if (!v->has) {
            wf_nondeterminism(wf, "tw_mutable_side_effect(\"%.100s\") call %lld: the history "
                              "has no MutableSideEffect marker with its value "
                              "(non-deterministic: the code changed since this run started)",
                              id, (long long)v->calls);
        }
        *result = v->value;
        return TW_OK;
    }
    tw_payload got = tw_null();
    wf->running->in_condition = 1;
    int rc = fn(wf, arg, &got);
    wf->running->in_condition = 0;
    if (rc < 0) {
        v->calls--;
        return rc;
    }
    if (!payloads_valid(&got, 1))
        return v->calls--, TW_EINVAL;
    if (!v->has || !same_value(&got, &v->value)) {
        if (keep_payload(wf, &got, &v->value))
            return TW_ENOMEM;
        v->has = 1;
        if ((rc = record_mutable(wf, v)))
            return rc;
    }
    *result = v->value;
    return TW_OK;
}

/* ---- patches ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The UpsertWorkflowSearchAttributes of TemporalChangeVersion: every patch of the run the
 * code was told 1 for, or the history has, sorted (as the core SDK). Left out (0) when its
 * value would pass the server's size limit. */
static int upsert_change_version(tw_wf *wf)
{
    struct wf_markers *m = wf->markers;
    size_t n = 0;
    for (patch *p = m->patches; p; p = p->next)
        n += (p->asked && p->value) || p->in_history;
    const char **ids = wf_tmem(wf, (n ? n : 1) * sizeof(*ids));
    cJSON *list = cJSON_CreateArray();
    if (!ids || !list) {
        cJSON_Delete(list);
        return wf->oom = 1, TW_ENOMEM;
    }
    n = 0;
    for (patch *p = m->patches; p; p = p->next)
        if ((p->asked && p->value) || p->in_history)
            ids[n++] = p->id;
    qsort(ids, n, sizeof(*ids), by_name);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(ids[i]));
    char *text = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    if (!text)
        return wf->oom = 1, TW_ENOMEM;
    if (strlen(text) >= CHANGE_VERSION_MAX) {
        free(text);
        return TW_OK;
    }
    tw_payload v = {"json/plain", (const uint8_t *)text, strlen(text)};
    pb_payload *pv = payload_to_pb(wf->a, &v);
    free(text);
    upsert_attrs *at = wf_mem(wf, sizeof(*at));
    pb_search_attributes *sa = wf_mem(wf, sizeof(*sa));
    sa_entry *e = wf_mem(wf, sizeof(*e));
    sa_entry **es = wf_mem(wf, sizeof(*es));
    if (!pv || !at || !sa || !e || !es)
        return wf->oom = 1, TW_ENOMEM;
    temporal__api__command__v1__upsert_workflow_search_attributes_command_attributes__init(at);
    temporal__api__common__v1__search_attributes__init(sa);
    temporal__api__common__v1__search_attributes__indexed_fields_entry__init(e);
    e->key = CHANGE_VERSION;
    e->value = pv;
    es[0] = e;
    sa->n_indexed_fields = 1;
    sa->indexed_fields = es;
    at->search_attributes = sa;
    wf_push_cmd(wf, CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
                cmd_new(wf->a, CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), at), NULL);
    return wf->oom ? TW_ENOMEM : TW_OK;
}

static int record_patch(tw_wf *wf, patch *p, int deprecated)
{
    char *quoted = json_quote(p->id);
    if (!quoted)
        return wf->oom = 1, TW_ENOMEM;
    const char *keys[] = {KEY_PATCH, KEY_DEPRECATED};
    pb_payloads *values[] = {json_payloads(wf, quoted),
                             json_payloads(wf, deprecated ? "true" : "false")};
    free(quoted);
    return record(wf, PATCH, keys, values, 2);
}

/* patched() and deprecate_patch(): 1 or 0 (what patched() answers), or negative. */
static int patch_call(tw_wf *wf, const char *patch_id, int deprecated)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!patch_id || !*patch_id)
        return TW_EINVAL;
    patch *p = wf->oom ? NULL : add_patch(wf, patch_id);
    if (!p)
        return TW_ENOMEM;
    if (p->asked)
        return p->value;
    p->asked = 1;
    /* Not replaying: new code. Replaying: the run has the patch only if its marker is there
     * (a deprecated patch is always new code: it is recorded only when it is). */
    int replay = replaying(wf);
    p->value = !replay || p->in_history || deprecated;
    if (replay && !p->in_history)
        return p->value; /* no marker to match */
    int rc = record_patch(wf, p, deprecated);
    if (rc)
        return rc;
    if (!replay || p->upserted)
        rc = upsert_change_version(wf);
    return rc ? rc : p->value;
}

int wf_patched(tw_wf *wf, const char *patch_id) { return patch_call(wf, patch_id, 0); }

int wf_deprecate_patch(tw_wf *wf, const char *patch_id)
{
    int rc = patch_call(wf, patch_id, 1);
    return rc < 0 ? rc : TW_OK;
}
