/*
 * emu_fixture: the local Lambda emulator running build/test-bootstrap (the runtime loop with
 * the test handler; timeout 2 s, async retries at once, TEST_VALUE=hi) as a cmocka setup and
 * teardown pair, for the emulator tests. *st is the emu_proc; emu_teardown stops and frees it
 * and fails the test if the emulator did not end cleanly.
 */
#ifndef TW_EMU_FIXTURE_H
#define TW_EMU_FIXTURE_H

/* The path of build/test-bootstrap (in $BUILD), for tests that start an emulator of their own. */
const char *emu_test_bootstrap(void);
int emu_setup(void **st);
int emu_teardown(void **st);

#endif
