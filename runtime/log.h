/*
 * log: JSON lines on stderr, the form Lambda's JSON log format expects
 * ({"timestamp","level","requestId","message",...}), filtered by AWS_LAMBDA_LOG_LEVEL.
 * It never formats secrets: callers pass only what may be shown.
 * Threading: log_write may be called from any thread; the request id is per process, the task
 * (kind and workflow id) per thread.
 */
#ifndef TW_LOG_H
#define TW_LOG_H

enum { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Reads AWS_LAMBDA_LOG_LEVEL (TRACE..FATAL, any case; default INFO). */
void log_init(void);
void log_set_request_id(const char *request_id); /* NULL clears it; the string is copied */
/* This thread's task, added to its lines as "taskKind" and "workflowId" (NULL clears them;
 * the strings must outlive the task). */
void log_set_task(const char *kind, const char *workflow_id);
int log_enabled(int level);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
