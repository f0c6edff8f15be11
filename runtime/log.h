/*
 * log: JSON lines on stderr, the form Lambda's JSON log format expects
 * ({"timestamp","level","requestId","message",...}), filtered by AWS_LAMBDA_LOG_LEVEL.
 * It never formats secrets: callers pass only what may be shown.
 * Threading: log_write may be called from any thread; the request id and trace id are per
 * process, the task (kind, type, workflow id, activity id) per thread.
 */
#ifndef TW_LOG_H
#define TW_LOG_H

#include <stddef.h>

enum { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Reads AWS_LAMBDA_LOG_LEVEL (TRACE..FATAL, any case; default INFO). */
void log_init(void);
void log_set_request_id(const char *request_id); /* NULL clears it; the string is copied */
/* The longest copies kept (bytes, without the NUL); longer strings are cut. */
enum { LOG_KIND_MAX = 15, LOG_NAME_MAX = 255, LOG_ACTIVITY_ID_MAX = 127, LOG_REQUEST_ID_MAX = 127,
       LOG_TRACE_ID_MAX = 127 };
/* The invocation's trace id, from |header|, the value of Lambda-Runtime-Trace-Id
 * ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"): its Root,
 * the X-Ray trace id ("1-5759e988-bd862e3fe1be46a994272793"), goes into every line as
 * "traceId" after "requestId", so one Logs Insights query finds a trace's lines; a value with
 * no Root is kept whole. Copied (cut to LOG_TRACE_ID_MAX bytes); NULL or "" clears it. */
void log_set_trace_id(const char *header);
/* The Root of trace header |header| into |out| (|cap| bytes; "" for NULL), as above. */
void log_trace_root(const char *header, char *out, size_t cap);

/* This thread's task, added to its lines as "taskKind", "workflowId", "taskType" and
 * "activityId" and named by the crash line (runtime/crash.h). |kind| is "workflow" or
 * "activity"; |type| the workflow or activity type. The strings are copied (cut at a UTF-8
 * character boundary: LOG_NAME_MAX bytes for the type and the workflow id), so they need not
 * outlive the call; a NULL clears its field, and all four NULL end the task. The first task of
 * a thread also gives it an alternate signal stack (crash_thread_init). */
void log_set_task(const char *kind, const char *type, const char *workflow_id,
                  const char *activity_id);

/* What the crash line names: the request id of the process and the calling thread's task.
 * Pointers into fixed buffers, "" when unset, never NULL. It locks and allocates nothing, so a
 * signal handler may call it; the request id is read without the lock, so a crash while an
 * invocation starts may see a mix of two ids, always NUL-terminated. */
typedef struct log_context {
    const char *request_id;
    const char *trace_id; /* the Root, as in the lines */
    const char *kind;
    const char *type;
    const char *workflow_id;
    const char *activity_id;
} log_context;
void log_context_get(log_context *out);
int log_enabled(int level);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
