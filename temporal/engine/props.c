/*
 * props: search attributes, memo and headers of a workflow.
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

const tw_payload *wf_search_attribute(tw_wf *wf, const char *name) { (void)wf; (void)name; return NULL; }
int wf_upsert_search_attributes(tw_wf *wf, const tw_search_attribute *sa, size_t n)
{ (void)wf; (void)sa; (void)n; return TW_ESTATE; }
const tw_payload *wf_memo(tw_wf *wf, const char *key) { (void)wf; (void)key; return NULL; }
int wf_upsert_memo(tw_wf *wf, const char *key, const tw_payload *value)
{ (void)wf; (void)key; (void)value; return TW_ESTATE; }
const tw_payload *wf_header(tw_wf *wf, const char *key) { (void)wf; (void)key; return NULL; }
int wf_set_header(tw_wf *wf, const char *key, const tw_payload *value)
{ (void)wf; (void)key; (void)value; return TW_ESTATE; }
Temporal__Api__Common__V1__Header *wf_outgoing_header(tw_wf *wf) { (void)wf; return NULL; }
