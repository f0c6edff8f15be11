// Checks of the activity scenarios (tests/features/activity/).

package main

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		scenario{"activity/basic_no_workflow_timeout", "activities with only start-to-close or schedule-to-close, no workflow timeout", checkBasicNoWorkflowTimeout},
		scenario{"activity/retry_on_error", "an activity failing 5 attempts; the workflow fails with its ActivityFailure", checkRetryOnError},
		scenario{"activity/heartbeating", "heartbeats are throttled, keep the latest details, and a silent attempt times out and resumes", checkHeartbeating},
		scenario{"activity/running_concurrently", "activities started together are scheduled by one workflow task", checkRunningConcurrently},
		scenario{"activity/cancel_try_cancel", "try-cancel resolves at once; the activity learns of the cancel from its heartbeat", checkCancelTryCancel},
		scenario{"activity/cancel_wait_cancel", "wait-cancellation resolves only when the activity reports", checkCancelWaitCancel},
		scenario{"activity/cancel_abandon", "abandon resolves at once and sends the server nothing", checkCancelAbandon},
	)
}

func checkBasicNoWorkflowTimeout(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", func(o *client.StartWorkflowOptions) { o.WorkflowExecutionTimeout = 0 })
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("echo", result, "workflow result")
	var sched []*historypb.ActivityTaskScheduledEventAttributes
	for _, e := range r.events(ctx, run) {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			sched = append(sched, a)
		}
	}
	r.require(len(sched) == 2, "want 2 activities scheduled, got %d", len(sched))
	r.equal(int64(60), sched[0].GetStartToCloseTimeout().GetSeconds(), "first activity's start-to-close (s)")
	r.equal(int64(60), sched[1].GetScheduleToCloseTimeout().GetSeconds(), "second activity's schedule-to-close (s)")
}

func checkRetryOnError(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	err := run.Get(ctx, nil)
	var actErr *temporal.ActivityError
	r.require(errors.As(err, &actErr), "expected an activity error, got: %v", err)
	var appErr *temporal.ApplicationError
	r.require(errors.As(actErr.Unwrap(), &appErr), "expected the activity error's cause to be an application error, got: %v", actErr.Unwrap())
	r.equal("activity attempt 5 failed", appErr.Message(), "the cause's message")
	started := first(r.events(ctx, run), enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	r.require(started != nil, "no ActivityTaskStarted")
	r.equal(int32(5), started.GetActivityTaskStartedEventAttributes().GetAttempt(), "attempt of the last start")
}

// checkHeartbeating: "HeartbeatingActivity" heartbeats its counter 20000 times in a tight loop
// (throttled: each call is not an RPC), then goes silent past its 2 s heartbeat timeout. The
// server times the attempt out; the next attempt starts from the last details the server got.
func checkHeartbeating(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	// While attempt 1 is silent, the server holds its latest details.
	var seen any
	r.eventually(ctx, "attempt 1's last details on the server", 20*time.Second, func() bool {
		d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		r.noErr(err, "describe")
		if len(d.PendingActivities) == 1 && d.PendingActivities[0].Attempt == 1 {
			seen = payloadsJSON(d.PendingActivities[0].HeartbeatDetails)
		}
		return jsonEqual(20000, seen)
	})
	var result map[string]any
	r.succeeds(ctx, run, &result)
	r.equal(map[string]any{"attempt": 2, "resumed_from": 20000}, result, "workflow result")
	started := first(r.events(ctx, run), enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	r.require(started != nil, "no ActivityTaskStarted")
	lf := started.GetActivityTaskStartedEventAttributes().GetLastFailure()
	r.require(lf.GetTimeoutFailureInfo() != nil, "attempt 1 should have ended on a timeout, its failure: %s", jsonText(failureJSON(lf)))
	r.equal("HEARTBEAT", enumName(lf.GetTimeoutFailureInfo().GetTimeoutType(), "TIMEOUT_TYPE_"), "timeout type of attempt 1")
}

func checkRunningConcurrently(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result []int
	r.succeeds(ctx, run, &result)
	r.equal([]int{1, 2, 3}, result, "workflow result")
	task := int64(-1)
	n := 0
	for _, e := range r.events(ctx, run) {
		if e.EventType != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			continue
		}
		n++
		if task < 0 {
			task = taskOf(e)
		}
		r.require(taskOf(e) == task, "activity %s scheduled by task %d, the first by task %d",
			e.GetActivityTaskScheduledEventAttributes().ActivityId, taskOf(e), task)
	}
	r.equal(3, n, "activities scheduled")
}

// cancelEvents of a cancel scenario's history: the task that requested the cancel (0: none),
// the event where the activity reported (its id and type), and the task that started the
// workflow's second timer, which it starts right after its await of the activity returned (the
// first is the 1 ms timer before the cancel).
type cancelEvents struct {
	cancelTask, reportID, proofTask int64
	report                          enumspb.EventType
}

func readCancelEvents(evs []*historypb.HistoryEvent) cancelEvents {
	var c cancelEvents
	timers := 0
	for _, e := range evs {
		switch e.EventType {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
			c.cancelTask = taskOf(e)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			c.reportID, c.report = e.EventId, e.EventType
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			if timers++; timers == 2 {
				c.proofTask = taskOf(e)
			}
		}
	}
	return c
}

// activityReport waits until the activity of |run| reported to the server: "cancelled" when it
// reported the cancel (ActivityTaskCanceled), its result when it completed (a string), else the
// event's type.
func activityReport(ctx context.Context, r *frun, run client.WorkflowRun) string {
	e := r.waitEvent(ctx, run, "activity report", 70*time.Second, func(e *historypb.HistoryEvent) bool {
		switch e.EventType {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			return true
		}
		return false
	})
	switch e.EventType {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		return "cancelled"
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		var s string
		err := converter.GetDefaultDataConverter().FromPayloads(e.GetActivityTaskCompletedEventAttributes().Result, &s)
		r.noErr(err, "the activity's result as a string")
		return s
	}
	return enumName(e.EventType, "EVENT_TYPE_")
}

// The activity heartbeats every second for a minute; the workflow cancels it after a 1 ms
// timer. The Go scenario's activity signals the workflow what it saw; a C activity has no
// client, so this check reads what it reported from the history and sends that signal.
func checkCancelTryCancel(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	seen := activityReport(ctx, r, run)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "activity-result", seen), "signal")
	r.succeeds(ctx, run, nil)
	c := readCancelEvents(r.events(ctx, run))
	r.require(c.cancelTask > 0, "no ActivityTaskCancelRequested: the cancel was not sent")
	r.require(c.reportID > 0, "no report of the activity in the history (the workflow closed before it?)")
	r.equal("ACTIVITY_TASK_CANCELED", enumName(c.report, "EVENT_TYPE_"), "how the activity ended")
	r.require(c.proofTask == c.cancelTask, "the workflow did not go on at once: its next timer was started by task %d, the cancel by task %d",
		c.proofTask, c.cancelTask)
}

func checkCancelWaitCancel(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("cancelled", result, "workflow result (what its await of the activity gave)")
	c := readCancelEvents(r.events(ctx, run))
	r.require(c.cancelTask > 0, "no ActivityTaskCancelRequested: the cancel was not sent")
	r.require(c.reportID > 0, "no report of the activity in the history (the workflow closed before it?)")
	r.equal("ACTIVITY_TASK_CANCELED", enumName(c.report, "EVENT_TYPE_"), "how the activity ended")
	r.require(c.proofTask > c.reportID, "the workflow went on before the activity reported: its next timer was started by task %d, the report is event %d",
		c.proofTask, c.reportID)
}

func checkCancelAbandon(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	seen := activityReport(ctx, r, run)
	r.equal("no cancel seen", seen, "what the abandoned activity saw")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil), "signal")
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("cancelled", result, "workflow result (what its await of the activity gave)")
	evs := r.events(ctx, run)
	c := readCancelEvents(evs)
	r.require(c.cancelTask == 0, "an ActivityTaskCancelRequested: abandon must send nothing")
	r.require(c.proofTask > 0 && c.proofTask < c.reportID, "the workflow did not go on at once: its next timer was started by task %d, the activity reported at event %d",
		c.proofTask, c.reportID)
}
