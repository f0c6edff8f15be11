/*
 * emu_fixture: see emu_fixture.h.
 */
#define _GNU_SOURCE
#include "tests/support/emu_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "tests/support/harness.h"

const char *emu_test_bootstrap(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s", harness_built("test-bootstrap"));
    return path;
}

int emu_setup(void **st)
{
    emu_proc *p = calloc(1, sizeof(*p));
    const char *args[] = {"--timeout", "2", "--async-retry-delay", "0", "-e", "TEST_VALUE=hi", NULL};
    if (emu_start(p, emu_test_bootstrap(), args) != 0) {
        char *out = emu_output(p);
        fprintf(stderr, "emulator did not start:\n%s\n", out);
        free(out);
        emu_stop(p);
        free(p);
        return -1;
    }
    *st = p;
    return 0;
}

int emu_teardown(void **st)
{
    int rc = emu_stop(*st);
    free(*st);
    return rc;
}
