/*
 * props: a run's search attributes, memo and headers.
 *
 * Search attributes and the memo start as the WorkflowExecutionStarted event has them; the
 * code changes them with UpsertWorkflowSearchAttributes and ModifyWorkflowProperties commands
 * and sees the change at once (as the official SDKs update their workflow info); on replay
 * the recorded events bring the state to what the server holds as they are matched. Upserts
 * are encoded as the official SDKs encode typed search attributes: json/plain with the type
 * in the "type" metadata; a removal is a binary/null payload without a type (the server does
 * not remove a typed one). TemporalChangeVersion upserts (marker.c's) do not change what the
 * code reads, as in the core SDK.
 *
 * Headers: the started event's are read as they are; tw_set_header() keeps its own list, and
 * wf_outgoing_header() hands commands a Header of it (made again after each change).
 *
 * Memory: everything in the run's arena (the started event is kept there, wf.c). Threading:
 * the workflow task's thread only.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Common__V1__Header pb_header;
typedef Temporal__Api__Common__V1__Header__FieldsEntry header_entry;
typedef Temporal__Api__Common__V1__Memo pb_memo;
typedef Temporal__Api__Common__V1__Memo__FieldsEntry memo_entry;
typedef Temporal__Api__Common__V1__SearchAttributes pb_search_attributes;
typedef Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry sa_entry;
typedef Temporal__Api__Command__V1__UpsertWorkflowSearchAttributesCommandAttributes upsert_attrs;
typedef Temporal__Api__Command__V1__ModifyWorkflowPropertiesCommandAttributes modify_attrs;

#define CHANGE_VERSION "TemporalChangeVersion"

/* One field: a key and its payload (the run's memory). */
typedef struct field {
    const char *key;
    tw_payload value;
    const pb_payload *pb;      /* the same as a message (metadata included), or NULL */
    struct field *next;
} field;

struct wf_props {
    field *sa, *memo, *header, *outgoing;
    pb_header *outgoing_pb;    /* wf_outgoing_header()'s, NULL after a change */
};

static struct wf_props *props(tw_wf *wf)
{
    if (!wf->props && (wf->props = wf_mem(wf, sizeof(*wf->props))))
        memset(wf->props, 0, sizeof(*wf->props));
    return wf->props;
}

static field *find(field *list, const char *key)
{
    for (field *f = list; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static void drop(field **list, const char *key)
{
    for (field **p = list; *p; p = &(*p)->next)
        if (strcmp((*p)->key, key) == 0) {
            *p = (*p)->next;
            return;
        }
}

/* Sets |key| to |value| (|pb|: the same as the message it came in or goes out as, may be
 * NULL) in |list| (the strings, bytes and |pb| are the caller's to keep alive: the run's
 * memory). */
static field *put(tw_wf *wf, field **list, const char *key, const tw_payload *value,
                  const pb_payload *pb)
{
    field *f = find(*list, key);
    if (!f) {
        if (!(f = wf_mem(wf, sizeof(*f))))
            return NULL;
        *f = (field){.key = key, .next = *list};
        *list = f;
    }
    f->value = *value;
    f->pb = pb;
    return f;
}

/* Sets |key| to an event's payload |pb| in |list|, as the run keeps it: the message itself
 * when the event is the run's (the started event, a full replay), else a copy (wf_keep). */
static int put_kept(tw_wf *wf, field **list, const char *key, const pb_payload *pb)
{
    const pb_payload *k = wf_keep(wf, &pb->base);
    if (!k)
        return -1;
    tw_payload v = payload_from_pb(wf->a, k);
    return put(wf, list, key, &v, k) ? 0 : -1;
}

/* An empty payload, or binary/null: a removal (of a memo field, a search attribute). */
static int removal(const pb_payload *pb)
{
    if (!pb || !pb->data.len)
        return 1;
    return 0;
}

/* ---- the started event, recorded events ---- */

void wf_props_started(tw_wf *wf, const pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *at =
        ev->workflow_execution_started_event_attributes;
    struct wf_props *p = props(wf);
    if (!p)
        return;
    int bad = 0;
    for (size_t i = 0; at->search_attributes && i < at->search_attributes->n_indexed_fields; i++) {
        sa_entry *e = at->search_attributes->indexed_fields[i];
        if (e->key && e->value)
            bad |= put_kept(wf, &p->sa, e->key, e->value);
    }
    for (size_t i = 0; at->memo && i < at->memo->n_fields; i++) {
        memo_entry *e = at->memo->fields[i];
        if (e->key && e->value)
            bad |= put_kept(wf, &p->memo, e->key, e->value);
    }
    for (size_t i = 0; at->header && i < at->header->n_fields; i++) {
        header_entry *e = at->header->fields[i];
        if (e->key && e->value)
            bad |= put_kept(wf, &p->header, e->key, e->value);
    }
    if (bad)
        wf->oom = 1;
}

/* Applies field |key| = |value| of an event to |list| (an empty payload removes it). */
static void apply_field(tw_wf *wf, field **list, const char *key, const pb_payload *value)
{
    if (!key)
        return;
    if (removal(value)) {
        drop(list, key);
        return;
    }
    char *k = wf_strdup(wf, key);
    if (!k || put_kept(wf, list, k, value))
        wf->oom = 1;
}

void wf_props_event(tw_wf *wf, const pb_event *ev)
{
    struct wf_props *p = props(wf);
    if (!p)
        return;
    if (ev->event_type == EV(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) &&
        ev->attributes_case ==
            TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES_EVENT_ATTRIBUTES) {
        const pb_search_attributes *sa =
            ev->upsert_workflow_search_attributes_event_attributes->search_attributes;
        for (size_t i = 0; sa && i < sa->n_indexed_fields; i++)
            if (!sa->indexed_fields[i]->key ||
                strcmp(sa->indexed_fields[i]->key, CHANGE_VERSION) != 0)
                apply_field(wf, &p->sa, sa->indexed_fields[i]->key, sa->indexed_fields[i]->value);
    } else if (ev->event_type == EV(WORKFLOW_PROPERTIES_MODIFIED) &&
               ev->attributes_case ==
                   TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_PROPERTIES_MODIFIED_EVENT_ATTRIBUTES) {
        const pb_memo *m = ev->workflow_properties_modified_event_attributes->upserted_memo;
        for (size_t i = 0; m && i < m->n_fields; i++)
            apply_field(wf, &p->memo, m->fields[i]->key, m->fields[i]->value);
    }
}

/* ---- reading ---- */

static const tw_payload *lookup(tw_wf *wf, field *(*list)(struct wf_props *), const char *key)
{
    if (!wf_current(wf) || !key)
        return NULL;
    field *f = wf->props ? find(list(wf->props), key) : NULL;
    return f ? &f->value : NULL;
}

static field *sa_list(struct wf_props *p) { return p->sa; }
static field *memo_list(struct wf_props *p) { return p->memo; }
static field *header_list(struct wf_props *p) { return p->header; }

const tw_payload *wf_search_attribute(tw_wf *wf, const char *name)
{
    return lookup(wf, sa_list, name);
}

const tw_payload *wf_memo(tw_wf *wf, const char *key) { return lookup(wf, memo_list, key); }

const tw_payload *wf_header(tw_wf *wf, const char *key) { return lookup(wf, header_list, key); }

/* ---- search attributes ---- */

/* The "type" metadata of each TW_SA_*, as the server names IndexedValueType. */
static const char *const SA_TYPES[] = {
    [TW_SA_KEYWORD] = "Keyword", [TW_SA_TEXT] = "Text",         [TW_SA_INT] = "Int",
    [TW_SA_DOUBLE] = "Double",   [TW_SA_BOOL] = "Bool",         [TW_SA_DATETIME] = "Datetime",
    [TW_SA_KEYWORD_LIST] = "KeywordList",
};

/* Unix ms as RFC 3339 in UTC, as Go's time.Time marshals: "2024-05-01T10:00:00.25Z". */
static int rfc3339(int64_t ms, char *out, size_t n)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0)
        frac += 1000, secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return -1;
    size_t used = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!used)
        return -1;
    if (frac) {
        char f[8];
        snprintf(f, sizeof(f), ".%03d", (int)frac);
        for (size_t k = strlen(f); f[k - 1] == '0'; k--) /* trailing zeros go, as Go's */
            f[k - 1] = '\0';
        snprintf(out + used, n - used, "%sZ", f);
    } else {
        snprintf(out + used, n - used, "Z");
    }
    return 0;
}

/* |sa|'s value as JSON text (malloc'd), or NULL: TW_EINVAL in *err (a bad value) or
 * TW_ENOMEM. */
static char *sa_json(const tw_search_attribute *sa, int *err)
{
    cJSON *j = NULL;
    char when[48];
    *err = TW_EINVAL;
    switch (sa->type) {
    case TW_SA_KEYWORD:
    case TW_SA_TEXT:
        if (!sa->str)
            return NULL;
        j = cJSON_CreateString(sa->str);
        break;
    case TW_SA_INT: { /* an integer's digits, exact (cJSON keeps numbers as doubles) */
        char *s = malloc(24);
        if (!s)
            *err = TW_ENOMEM;
        else
            snprintf(s, 24, "%lld", (long long)sa->i);
        return s;
    }
    case TW_SA_DOUBLE:
        if (!isfinite(sa->d))
            return NULL;
        j = cJSON_CreateNumber(sa->d);
        break;
    case TW_SA_BOOL:
        j = cJSON_CreateBool(sa->b != 0);
        break;
    case TW_SA_DATETIME:
        if (rfc3339(sa->i, when, sizeof(when)))
            return NULL;
        j = cJSON_CreateString(when);
        break;
    case TW_SA_KEYWORD_LIST:
        if (sa->nlist && !sa->list)
            return NULL;
        for (size_t i = 0; i < sa->nlist; i++)
            if (!sa->list[i])
                return NULL;
        j = cJSON_CreateArray();
        for (size_t i = 0; j && i < sa->nlist; i++)
            cJSON_AddItemToArray(j, cJSON_CreateString(sa->list[i]));
        break;
    default:
        return NULL;
    }
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        *err = TW_ENOMEM;
    return text;
}

/* |sa| as the payload the command carries, in the run's arena; NULL with *err set. */
static pb_payload *sa_payload(tw_wf *wf, const tw_search_attribute *sa, int *err)
{
    if (sa->type == TW_SA_UNSET) {
        tw_payload null = tw_null();
        pb_payload *p = payload_to_pb(wf->a, &null);
        *err = TW_ENOMEM;
        return p;
    }
    char *text = sa_json(sa, err);
    if (!text)
        return NULL;
    tw_payload v = {"json/plain", (const uint8_t *)text, strlen(text)};
    pb_payload *p = payload_to_pb(wf->a, &v);
    free(text);
    pb_metadata_entry *type = wf_mem(wf, sizeof(*type));
    pb_metadata_entry **md = p ? wf_mem(wf, (p->n_metadata + 1) * sizeof(*md)) : NULL;
    *err = TW_ENOMEM;
    if (!type || !md)
        return NULL;
    temporal__api__common__v1__payload__metadata_entry__init(type);
    type->key = "type";
    type->value.data = (uint8_t *)SA_TYPES[sa->type];
    type->value.len = strlen(SA_TYPES[sa->type]);
    memcpy(md, p->metadata, p->n_metadata * sizeof(*md));
    md[p->n_metadata] = type;
    p->metadata = md;
    p->n_metadata++;
    return p;
}

static int valid_sa(const tw_search_attribute *sa)
{
    return sa->name && *sa->name && strcmp(sa->name, CHANGE_VERSION) != 0 &&
           sa->type >= TW_SA_UNSET && sa->type <= TW_SA_KEYWORD_LIST;
}

int wf_upsert_search_attributes(tw_wf *wf, const tw_search_attribute *sa, size_t n)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!n || !sa)
        return TW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!valid_sa(&sa[i]))
            return TW_EINVAL;
    struct wf_props *p = props(wf);
    upsert_attrs *at = wf_mem(wf, sizeof(*at));
    pb_search_attributes *pb = wf_mem(wf, sizeof(*pb));
    sa_entry **es = wf_mem(wf, n * sizeof(*es));
    if (!p || !at || !pb || !es || wf->oom)
        return TW_ENOMEM;
    temporal__api__common__v1__search_attributes__init(pb);
    for (size_t i = 0; i < n; i++) {
        int err;
        sa_entry *e = wf_mem(wf, sizeof(*e));
        if (!e)
            return TW_ENOMEM;
        temporal__api__common__v1__search_attributes__indexed_fields_entry__init(e);
        if (!(e->key = wf_strdup(wf, sa[i].name)))
            return TW_ENOMEM;
        if (!(e->value = sa_payload(wf, &sa[i], &err))) {
            if (err == TW_ENOMEM)
                wf->oom = 1;
            return err;
        }
        es[i] = e;
    }
    pb->n_indexed_fields = n;
    pb->indexed_fields = es;
    temporal__api__command__v1__upsert_workflow_search_attributes_command_attributes__init(at);
    at->search_attributes = pb;
    wf_push_cmd(wf, CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
                cmd_new(wf->a, CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), at), NULL);
    if (wf->oom)
        return TW_ENOMEM;
    /* What the code reads back: the payloads as sent (views of the command's). */
    for (size_t i = 0; i < n; i++) {
        if (sa[i].type == TW_SA_UNSET) {
            drop(&p->sa, es[i]->key);
            continue;
        }
        tw_payload v = payload_from_pb(wf->a, es[i]->value);
        if (!put(wf, &p->sa, es[i]->key, &v, es[i]->value))
            return wf->oom = 1, TW_ENOMEM;
    }
    return TW_OK;
}

/* ---- memo ---- */

int wf_upsert_memo(tw_wf *wf, const char *key, const tw_payload *value)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!key || !*key || (value && !payloads_valid(value, 1)))
        return TW_EINVAL;
    struct wf_props *p = props(wf);
    modify_attrs *at = wf_mem(wf, sizeof(*at));
    pb_memo *memo = wf_mem(wf, sizeof(*memo));
    memo_entry *e = wf_mem(wf, sizeof(*e));
    memo_entry **es = wf_mem(wf, sizeof(*es));
    if (!p || !at || !memo || !e || !es || wf->oom)
        return TW_ENOMEM;
    temporal__api__common__v1__memo__fields_entry__init(e);
    e->key = wf_strdup(wf, key);
    if (value) {
        e->value = payload_to_pb(wf->a, value);
    } else { /* an empty payload removes the field (the API's rule) */
        if ((e->value = wf_mem(wf, sizeof(*e->value))))
            temporal__api__common__v1__payload__init(e->value);
    }
    if (!e->key || !e->value)
        return wf->oom = 1, TW_ENOMEM;
    es[0] = e;
    temporal__api__common__v1__memo__init(memo);
    memo->n_fields = 1;
    memo->fields = es;
    temporal__api__command__v1__modify_workflow_properties_command_attributes__init(at);
    at->upserted_memo = memo;
    wf_push_cmd(wf, CMD(MODIFY_WORKFLOW_PROPERTIES),
                cmd_new(wf->a, CMD(MODIFY_WORKFLOW_PROPERTIES), at), NULL);
    if (wf->oom)
        return TW_ENOMEM;
    if (!value) {
        drop(&p->memo, e->key);
        return TW_OK;
    }
    tw_payload v = payload_from_pb(wf->a, e->value);
    if (!put(wf, &p->memo, e->key, &v, e->value))
        return wf->oom = 1, TW_ENOMEM;
    return TW_OK;
}

/* ---- headers ---- */

int wf_set_header(tw_wf *wf, const char *key, const tw_payload *value)
{
    if (!wf_current_blocking(wf)) /* not in a query or a condition: it shapes commands */
        return TW_ESTATE;
    if (!key || !*key || (value && !payloads_valid(value, 1)))
        return TW_EINVAL;
    struct wf_props *p = props(wf);
    if (!p || wf->oom)
        return TW_ENOMEM;
    p->outgoing_pb = NULL;
    if (!value) {
        drop(&p->outgoing, key);
        return TW_OK;
    }
    char *k = wf_strdup(wf, key);
    pb_payload *pb = k ? payload_to_pb(wf->a, value) : NULL;
    if (!pb)
        return wf->oom = 1, TW_ENOMEM;
    tw_payload v = payload_from_pb(wf->a, pb);
    if (!put(wf, &p->outgoing, k, &v, pb))
        return wf->oom = 1, TW_ENOMEM;
    return TW_OK;
}

pb_header *wf_outgoing_header(tw_wf *wf)
{
    struct wf_props *p = wf->props;
    if (!p || !p->outgoing)
        return NULL;
    if (p->outgoing_pb)
        return p->outgoing_pb;
    size_t n = 0;
    for (field *f = p->outgoing; f; f = f->next)
        n++;
    pb_header *h = wf_mem(wf, sizeof(*h));
    header_entry **es = wf_mem(wf, n * sizeof(*es));
    if (!h || !es)
        return NULL;
    temporal__api__common__v1__header__init(h);
    n = 0;
    for (field *f = p->outgoing; f; f = f->next) {
        header_entry *e = wf_mem(wf, sizeof(*e));
        if (!e)
            return NULL;
        temporal__api__common__v1__header__fields_entry__init(e);
        e->key = (char *)f->key;
        e->value = (pb_payload *)f->pb;
        es[n++] = e;
    }
    h->n_fields = n;
    h->fields = es;
    return p->outgoing_pb = h;
}

/* ---- the current state as messages (continue-as-new carries it) ---- */

static size_t count_fields(const field *list)
{
    size_t n = 0;
    for (; list; list = list->next)
        n++;
    return n;
}

/* |f|'s payload as a message: the one it came in or went out as, else made (run's arena). */
static pb_payload *field_pb(tw_wf *wf, const field *f)
{
    pb_payload *v = f->pb ? (pb_payload *)f->pb : payload_to_pb(wf->a, &f->value);
    if (!v)
        wf->oom = 1;
    return v;
}

pb_search_attributes *wf_props_search_attributes(tw_wf *wf)
{
    size_t n = wf->props ? count_fields(wf->props->sa) : 0;
    pb_search_attributes *sa = n ? wf_mem(wf, sizeof(*sa)) : NULL;
    sa_entry **es = sa ? wf_mem(wf, n * sizeof(*es)) : NULL;
    if (!es)
        return NULL;
    temporal__api__common__v1__search_attributes__init(sa);
    size_t i = 0;
    for (const field *f = wf->props->sa; f; f = f->next, i++) {
        if (!(es[i] = wf_mem(wf, sizeof(*es[i]))))
            return NULL;
        temporal__api__common__v1__search_attributes__indexed_fields_entry__init(es[i]);
        es[i]->key = (char *)f->key;
        if (!(es[i]->value = field_pb(wf, f)))
            return NULL;
    }
    sa->n_indexed_fields = n;
    sa->indexed_fields = es;
    return sa;
}

pb_memo *wf_props_memo(tw_wf *wf)
{
    size_t n = wf->props ? count_fields(wf->props->memo) : 0;
    pb_memo *m = n ? wf_mem(wf, sizeof(*m)) : NULL;
    memo_entry **es = m ? wf_mem(wf, n * sizeof(*es)) : NULL;
    if (!es)
        return NULL;
    temporal__api__common__v1__memo__init(m);
    size_t i = 0;
    for (const field *f = wf->props->memo; f; f = f->next, i++) {
        if (!(es[i] = wf_mem(wf, sizeof(*es[i]))))
            return NULL;
        temporal__api__common__v1__memo__fields_entry__init(es[i]);
        es[i]->key = (char *)f->key;
        if (!(es[i]->value = field_pb(wf, f)))
            return NULL;
    }
    m->n_fields = n;
    m->fields = es;
    return m;
}

/* ---- a child's search attributes (child.c) ---- */

pb_search_attributes *wf_props_encode_search_attributes(tw_wf *wf, const tw_search_attribute *sa,
                                                        size_t n, int *err)
{
    *err = TW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!valid_sa(&sa[i]) || sa[i].type == TW_SA_UNSET)
            return NULL;
    pb_search_attributes *pb = wf_mem(wf, sizeof(*pb));
    sa_entry **es = wf_mem(wf, n * sizeof(*es));
    *err = TW_ENOMEM;
    if (!pb || !es)
        return NULL;
    temporal__api__common__v1__search_attributes__init(pb);
    for (size_t i = 0; i < n; i++) {
        if (!(es[i] = wf_mem(wf, sizeof(*es[i]))))
            return NULL;
        temporal__api__common__v1__search_attributes__indexed_fields_entry__init(es[i]);
        if (!(es[i]->key = wf_strdup(wf, sa[i].name)))
            return NULL;
        if (!(es[i]->value = sa_payload(wf, &sa[i], err))) {
            if (*err == TW_ENOMEM)
                wf->oom = 1;
            return NULL;
        }
    }
    pb->n_indexed_fields = n;
    pb->indexed_fields = es;
    return pb;
}
