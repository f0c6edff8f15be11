/*
 * marker: side effects, mutable side effects and patches (RecordMarker).
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

int wf_side_effect(tw_wf *wf, tw_side_effect_fn fn, void *arg, tw_payload *result)
{ (void)wf; (void)fn; (void)arg; (void)result; return TW_ESTATE; }
int wf_mutable_side_effect(tw_wf *wf, const char *id, tw_side_effect_fn fn, void *arg,
                           tw_payload *result)
{ (void)wf; (void)id; (void)fn; (void)arg; (void)result; return TW_ESTATE; }
int wf_patched(tw_wf *wf, const char *patch_id) { (void)wf; (void)patch_id; return TW_ESTATE; }
int wf_deprecate_patch(tw_wf *wf, const char *patch_id) { (void)wf; (void)patch_id; return TW_ESTATE; }
