/*
 * search_attributes/upsert: "Workflow" (argument: a time, Unix ms) upserts CustomIntField 123
 * and CustomBoolField true, waits 100 ms (so the next upsert and the reads run in a later
 * workflow task), then removes CustomIntField and sets CustomKeywordField "durable code",
 * CustomTextField "is useful", CustomDatetimeField (the argument) and CustomDoubleField 3.14.
 * It returns what tw_wf_search_attribute() then reads for the six, one JSON member each (null
 * for none). Check: local/temporal/driver/feature_sa.go.
 */
#include "feature.h"

static const char *const NAMES[] = {"CustomBoolField",     "CustomIntField",
                                    "CustomKeywordField",  "CustomTextField",
                                    "CustomDatetimeField", "CustomDoubleField"};

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int ok;
    long long when = ft_number(nargs ? &args[0] : NULL, &ok);
    if (!ok)
        return ft_wf_fail(wf, "want a time (Unix ms) as the argument");
    tw_search_attribute first[] = {
        {.name = "CustomIntField", .type = TW_SA_INT, .i = 123},
        {.name = "CustomBoolField", .type = TW_SA_BOOL, .b = 1},
    };
    int rc = tw_upsert_search_attributes(wf, first, 2);
    if (rc == 0)
        rc = tw_sleep(wf, 100);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "first upsert");
    tw_search_attribute second[] = {
        {.name = "CustomIntField", .type = TW_SA_UNSET},
        {.name = "CustomKeywordField", .type = TW_SA_KEYWORD, .str = "durable code"},
        {.name = "CustomTextField", .type = TW_SA_TEXT, .str = "is useful"},
        {.name = "CustomDatetimeField", .type = TW_SA_DATETIME, .i = when},
        {.name = "CustomDoubleField", .type = TW_SA_DOUBLE, .d = 3.14},
    };
    if ((rc = tw_upsert_search_attributes(wf, second, 5)))
        return ft_wf_fail_rc(wf, rc, "second upsert");
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
