/*
 * cmd: the engine's command state machines, as tables (the shape of sdk-go's command state
 * machines and sdk-core's machines/). Each command the engine makes is one row of CMD_KINDS:
 * its name, the history event that records it (its "initiated" event) and how to tell that
 * event is this command's, the events that resolve the operation it started, and the command
 * that cancels it. Each event the engine reads is one row of EV_KINDS: the attributes it must
 * carry and, for a resolution, the operation it resolves and what it carries (a result, a
 * failure). A new command is new rows here, not new cases in the replay driver.
 *
 * What the rows do not hold is the replay itself (wf.c) and the calls that make commands
 * (wf_api.c). Everything here is constant data and pure functions on protobuf messages.
 */
#ifndef TW_CMD_H
#define TW_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/proto.h"

/* A command type's state machine. */
typedef struct cmd_kind {
    int type;               /* CommandType */
    const char *name;       /* "ScheduleActivityTask" */
    int initiated;          /* the EventType that records the command */
    int resolved_by[8];     /* EventTypes that resolve the operation it started (0-terminated) */
    int canceled_by;        /* the CommandType that cancels that operation; 0: none */
    /* Is |ev| (of type |initiated|, its attributes checked) the record of |c|? Compares what
     * identifies the command (ids, types, names); a difference is non-determinism. */
    int (*same)(const pb_command *c, const pb_event *ev);
    /* "ScheduleActivityTask(type Compose, id 1)": the command, or the command an event records. */
    void (*describe)(const pb_command *c, char *out, size_t n);
    void (*describe_event)(const pb_event *ev, char *out, size_t n);
} cmd_kind;

/* How a resolution ends the operation. */
enum { RES_COMPLETED = 1, RES_FAILED, RES_CANCELED };

/* An event the engine reads. */
typedef struct ev_kind {
    int type;               /* EventType */
    const char *name;       /* "ActivityTaskCompleted" */
    int attributes;         /* the attributes oneof case the event must carry */
    int resolves;           /* the CommandType whose operation it resolves; 0: not a resolution */
    int outcome;            /* RES_*, for a resolution */
    /* For a resolution, the operation it resolves: the event id that recorded its command
     * (activities, external operations), or, when that is NULL, its id (timers). */
    int64_t (*initiated_id)(const pb_event *ev);
    const char *(*op_id)(const pb_event *ev);
    const pb_payloads *(*result)(const pb_event *ev);   /* RES_COMPLETED's value; may be NULL */
    const pb_failure *(*failure)(const pb_event *ev);   /* RES_FAILED's failure; may be NULL */
    /* RES_FAILED without a Failure message (an external operation): the failure's type, e.g.
     * "ExternalWorkflowExecutionNotFound", from the event's cause. May be NULL. */
    const char *(*failed_cause)(const pb_event *ev);
    /* An activity's resolution: the server's RetryState (why it is not retried). May be NULL. */
    int (*retry_state)(const pb_event *ev);
    /* RES_CANCELED's details. May be NULL. */
    const pb_payloads *(*details)(const pb_event *ev);
    /* Beyond carrying its own attributes, what else is wrong with |ev| ("names no activity
     * type"), or NULL. May be NULL. */
    const char *(*check)(const pb_event *ev);
} ev_kind;

/* ---- markers ----
 * RecordMarker is one command type for several kinds of marker (marker.c: side effects and
 * patches; local.c: local activities), told apart by the marker's name. What else identifies
 * one is its kind's row in cmd.c's MARKER_KINDS: a detail whose payloads must be the same bytes
 * in the command and the event (a side effect's id, a patch's id), and/or a function comparing
 * more. A marker name without a row is identified by its name alone. Which markers the code
 * may leave out on replay (a deprecated patch) is marker.c's to say (wf_marker_passed_over). */
typedef struct marker_kind {
    const char *name;       /* the marker name, "SideEffect" */
    const char *id_key;     /* the detail that identifies one ("side-effect-id"), compared byte
                             * for byte and named in messages; NULL: none */
    /* Further checks of |c| against |ev| (both this kind, |id_key| already equal); NULL: none. */
    int (*same)(const pb_command *c, const pb_event *ev);
} marker_kind;

/* The row of marker name |name|; NULL for a marker without one. */
const marker_kind *marker_kind_of(const char *name);
/* |key|'s payloads among RecordMarker command |c|'s details, or MarkerRecorded event |ev|'s;
 * NULL when absent (or |c| / |ev| is another type). */
const pb_payloads *cmd_marker_detail(const pb_command *c, const char *key);
const pb_payloads *ev_marker_detail(const pb_event *ev, const char *key);
/* local.c: LocalActivity markers are the same when their "data" names the same activity id and
 * type (its MARKER_KINDS row's |same|). */
int local_marker_same(const pb_command *c, const pb_event *ev);

/* The row of command type |type|; NULL for a command the engine never makes. */
const cmd_kind *cmd_kind_of(int type);
/* The row whose command |event_type| records; NULL when it records none. */
const cmd_kind *cmd_recorded_by(int event_type);
/* The row of event type |type|; NULL for an event the engine does not read. */
const ev_kind *ev_kind_of(int type);

/* |ev| carries the attributes its type says and passes its row's check: NULL, or what is
 * wrong ("has no attributes", "carries another event type's attributes (field 17)", ...),
 * written into |buf| when it needs formatting. Events the engine does not read pass. */
const char *ev_problem(const pb_event *ev, char *buf, size_t n);

/* Names |c| as describe() does; "no command" for NULL. */
void cmd_describe(const pb_command *c, char *out, size_t n);

/* A command of |type| carrying |attributes| (the message of that type's oneof member), in |a|;
 * NULL when |a| is full or |type| has no row. */
pb_command *cmd_new(arena *a, int type, void *attributes);

#endif
