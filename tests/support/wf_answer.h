/*
 * wf_answer: checks on the engine's answers to the histories tests/support/wf_hist.h builds,
 * shared by the engine's unit tests on tests/fixtures/lib_wf_talk.c (test_wf_machines,
 * test_wf_cancel, test_wf_signals, test_wf_failures). Failures abort the test (cmocka); the
 * strings returned live in static buffers, overwritten by the next call.
 */
#ifndef TW_WF_ANSWER_H
#define TW_WF_ANSWER_H

#include <stddef.h>

#include "registry/reg.h"
#include "tests/support/wf_hist.h"

/* Loads the built library |rel| (under $BUILD, e.g. "fixtures/lib_wf_talk.so") with the
 * runtime's function table into *reg: 0, or -1 with the reason on stderr (for a cmocka group
 * setup). The caller frees it with reg_free. */
int wa_load(const char *rel, tw_registry **reg);
/* Runs the next task of |h| as workflow |type| of |reg| and checks its commands, described
 * the way wh_commands() does ("" for none). */
void wa_expect(whist *h, const tw_registry *reg, const char *type, const char *commands);
/* The JSON result of the workflow completion in the last answer (fails without one). */
const char *wa_result(const whist *h);
/* The JSON argument of the |i|-th command of the last answer, an activity. */
const char *wa_activity_input(const whist *h, size_t i);

#endif
