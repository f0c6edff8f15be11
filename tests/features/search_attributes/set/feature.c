/*
 * search_attributes/set: "Workflow" returns the search attributes its start set, as
 * tw_wf_search_attribute() reads them (the payloads as the server holds them), one JSON member
 * each: {"CustomKeywordField":"test-value","CustomIntField":1,"CustomBoolField":true,
 * "CustomDatetimeField":"<RFC 3339>"} (null for one it lacks). Check:
 * local/temporal/driver/feature_sa.go. Adaptation: upstream's TypeScript sets lists
 * (CustomIntField: [1, 2]); typed search attributes hold one value per non-list type, so each
 * is one value here.
 */
#include "feature.h"

static const char *const NAMES[] = {"CustomKeywordField", "CustomIntField", "CustomBoolField",
                                    "CustomDatetimeField"};

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    size_t cap = 2048, used = 0;
    char *out = tw_wf_alloc(wf, cap);
    if (!out)
        return TW_ENOMEM;
    used += (size_t)snprintf(out, cap, "{");
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]) && used < cap; i++) {
        const tw_payload *p = tw_wf_search_attribute(wf, NAMES[i]);
        used += (size_t)snprintf(out + used, cap - used, "%s\"%s\":%.*s", i ? "," : "", NAMES[i],
                                 p ? (int)p->len : 4, p ? (const char *)p->data : "null");
    }
    if (used + 2 > cap)
        return ft_wf_fail(wf, "search attributes too long");
    used += (size_t)snprintf(out + used, cap - used, "}");
    *result = (tw_payload){"json/plain", (const uint8_t *)out, used};
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
