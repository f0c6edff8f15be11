/*
 * crash: one FATAL JSON line when user code kills the process, then the same death as without
 * it. Everything the handler calls is async-signal-safe (clock_gettime, write, sigaction,
 * raise): the line is built by hand in a buffer on the signal stack, from the copies log.c
 * keeps of the thread's task. No stdio, no malloc, no locks.
 */
#define _GNU_SOURCE
#include "crash.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const struct {
    int sig;
    const char *name;
} SIGNALS[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"}, {SIGFPE, "SIGFPE"},
    {SIGABRT, "SIGABRT"},
};
enum { NSIGNALS = sizeof(SIGNALS) / sizeof(SIGNALS[0]) };

/* Enough for the handler and the kernel's signal frame (several KiB with AVX-512 state);
 * mapped, so only the pages a crash touches ever cost memory. */
enum { ALT_STACK_SIZE = 64 * 1024 };

/* Room for the worst line, every byte of every field a control character written as \u00XX:
 * the fields once, and the task's again in the message, plus under 512 bytes of names and
 * fixed text. So nothing is ever cut and the line is always valid JSON. Real lines are far
 * shorter than PIPE_BUF, so they reach the pipe in one piece even when two threads crash. */
enum {
    TASK_BYTES = LOG_KIND_MAX + 2 * LOG_NAME_MAX + LOG_ACTIVITY_ID_MAX,
    LINE_CAP = 6 * (2 * TASK_BYTES + LOG_REQUEST_ID_MAX + LOG_TRACE_ID_MAX) + 512,
};

static struct sigaction previous[NSIGNALS]; /* what was there before crash_install */
static int installed;                       /* set before any other thread exists */
static pthread_key_t stack_key;             /* its destructor frees the thread's stack */
static __thread int thread_ready;           /* crash_thread_init ran on this thread */

/* ---- the line ---- */

typedef struct line {
    char buf[LINE_CAP];
    size_t len;
} line;

/* Room kept for the closing "}\n. */
enum { TAIL = 4 };

static void put(line *l, const char *s)
{
    while (*s && l->len < LINE_CAP - TAIL)
        l->buf[l->len++] = *s++;
}

/* Appends |s| as the inside of a JSON string; stops (never mid-escape) when the line is full. */
static void put_escaped(line *l, const char *s)
{
    static const char HEX[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        size_t need = ch < 0x20 ? 6 : (ch == '"' || ch == '\\') ? 2 : 1;
        if (l->len + need > LINE_CAP - TAIL)
            return;
        if (ch < 0x20) {
            memcpy(l->buf + l->len, "\\u00", 4);
            l->buf[l->len + 4] = HEX[ch >> 4];
            l->buf[l->len + 5] = HEX[ch & 15];
        } else if (need == 2) {
            l->buf[l->len] = '\\';
            l->buf[l->len + 1] = (char)ch;
        } else {
            l->buf[l->len] = (char)ch;
        }
        l->len += need;
    }
}

/* Appends |v| in decimal, zero-padded to |width| digits. */
static void put_num(line *l, uint64_t v, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof(digits));
    while (n < width && n < (int)sizeof(digits))
        digits[n++] = '0';
    while (n > 0 && l->len < LINE_CAP - TAIL)
        l->buf[l->len++] = digits[--n];
}

static void put_hex(line *l, uintptr_t v)
{
    static const char HEX[] = "0123456789abcdef";
    char digits[2 * sizeof(v)];
    int n = 0;
    do {
        digits[n++] = HEX[v & 15];
        v >>= 4;
    } while (v);
    put(l, "0x");
    while (n > 0 && l->len < LINE_CAP - TAIL)
        l->buf[l->len++] = digits[--n];
}

/* ,"|name|":"|value|" unless |value| is empty. */
static void put_field(line *l, const char *name, const char *value)
{
    if (!value[0])
        return;
    put(l, ",\"");
    put(l, name);
    put(l, "\":\"");
    put_escaped(l, value);
    put(l, "\"");
}

/* The UTC time as log.c writes it (2026-11-29T10:00:00.123Z), without gmtime_r, which is not
 * async-signal-safe: days since 1970 to a civil date (the proleptic Gregorian calendar). */
static void put_timestamp(line *l)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return;
    int64_t days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
    int64_t z = days + 719468, era = z / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    uint64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    uint64_t year = (uint64_t)(era * 400) + yoe + (month <= 2);
    put(l, "\"timestamp\":\"");
    put_num(l, year, 4);
    put(l, "-");
    put_num(l, month, 2);
    put(l, "-");
    put_num(l, day, 2);
    put(l, "T");
    put_num(l, (uint64_t)secs / 3600, 2);
    put(l, ":");
    put_num(l, (uint64_t)secs / 60 % 60, 2);
    put(l, ":");
    put_num(l, (uint64_t)secs % 60, 2);
    put(l, ".");
    put_num(l, (uint64_t)ts.tv_nsec / 1000000, 3);
    put(l, "Z\",");
}

/* Whether the kernel raised |info| for an instruction that faults again when it is retried. */
static int is_fault(int sig, const siginfo_t *info)
{
    return sig != SIGABRT && info->si_code > 0;
}

static void write_line(const char *name, int sig, const siginfo_t *info)
{
    line l;
    l.len = 0; /* the buffer is left as it is: no 9 KiB memset on the signal stack */
    log_context c;
    log_context_get(&c);
    put(&l, "{");
    put_timestamp(&l);
    put(&l, "\"level\":\"FATAL\"");
    put_field(&l, "requestId", c.request_id);
    put_field(&l, "traceId", c.trace_id); /* as log.c's lines */
    put_field(&l, "taskKind", c.kind);
    put_field(&l, "workflowId", c.workflow_id);
    put_field(&l, "taskType", c.type);
    put_field(&l, "activityId", c.activity_id);
    put_field(&l, "signal", name);
    if (is_fault(sig, info)) {
        put(&l, ",\"faultAddress\":\"");
        put_hex(&l, (uintptr_t)info->si_addr);
        put(&l, "\"");
    }
    put(&l, ",\"message\":\"crash: ");
    put(&l, name);
    if (c.kind[0]) {
        put(&l, " in ");
        put_escaped(&l, c.kind);
        if (c.type[0]) {
            put(&l, " ");
            put_escaped(&l, c.type);
        }
        if (c.workflow_id[0]) {
            put(&l, " (workflow id ");
            put_escaped(&l, c.workflow_id);
            if (c.activity_id[0]) {
                put(&l, ", activity id ");
                put_escaped(&l, c.activity_id);
            }
            put(&l, ")");
        }
    } else {
        put(&l, " outside any workflow or activity task");
    }
    l.buf[l.len++] = '"'; /* TAIL keeps room for these three */
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    ssize_t w = write(STDERR_FILENO, l.buf, l.len);
    (void)w;
}

/* Writes the line, puts the previous handler back and lets the signal finish the process: a
 * fault by running the instruction again (so a previous handler such as AddressSanitizer's
 * sees the real fault context), a sent signal (abort, kill) by sending it again; it is blocked
 * here, so it arrives as the handler returns. */
static void on_crash(int sig, siginfo_t *info, void *uctx)
{
    int saved_errno = errno;
    int i = 0;
    while (i < NSIGNALS - 1 && SIGNALS[i].sig != sig)
        i++;
    write_line(SIGNALS[i].name, sig, info);
    sigaction(sig, &previous[i], NULL);
    if (!is_fault(sig, info))
        raise(sig);
    errno = saved_errno;
}

/* ---- alternate signal stacks ---- */

/* The pthread key destructor of a thread that got a stack: runs as the thread exits. */
static void free_stack(void *p)
{
    stack_t cur, off = {.ss_flags = SS_DISABLE};
    if (sigaltstack(NULL, &cur) != 0)
        return;
    if (cur.ss_sp == p && !(cur.ss_flags & SS_DISABLE) && sigaltstack(&off, NULL) != 0)
        return; /* still in use: keep it rather than unmap a live stack */
    munmap(p, ALT_STACK_SIZE);
}

void crash_thread_init(void)
{
    if (!installed || thread_ready)
        return;
    thread_ready = 1;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
        return; /* it has one: AddressSanitizer gives each thread its own */
    void *p = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = ALT_STACK_SIZE};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, ALT_STACK_SIZE);
        return;
    }
    if (pthread_setspecific(stack_key, p) != 0) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
        munmap(p, ALT_STACK_SIZE);
    }
}

int crash_install(void)
{
    if (installed)
        return 0;
    if (pthread_key_create(&stack_key, free_stack) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGNALS; i++)
        sigaddset(&sa.sa_mask, SIGNALS[i].sig); /* a fault in the handler kills, not recurses */
    int rc = 0;
    for (int i = 0; i < NSIGNALS; i++)
        if (sigaction(SIGNALS[i].sig, &sa, &previous[i]) != 0)
            rc = -1;
    installed = 1;
    crash_thread_init(); /* the main thread: the library's setup and the runtime loop */
    return rc;
}
