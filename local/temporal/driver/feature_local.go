// Checks of the local activity scenarios (tests/features/local_activity/).

package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		scenario{"local_activity/complete_immediately", "a local activity completing in the task that asked for it: its marker is in that task's completion", checkLACompleteImmediately},
		scenario{"local_activity/serial", "three local activities in a row, all in the first task: three markers", checkLASerial},
		scenario{"local_activity/concurrent", "three local activities at once, all in the first task: three markers", checkLAConcurrent},
		scenario{"local_activity/retry_on_error", "retried in the worker 5 times; the workflow fails with an ActivityFailure of attempt 5", checkLARetryOnError},
		scenario{"local_activity/non_retryable_error_from_activity", "a non-retryable error is not retried", checkLANonRetryableFromActivity},
		scenario{"local_activity/non_retryable_error_in_options", "an error type the policy names is not retried", checkLANonRetryableInOptions},
		scenario{"local_activity/one_success_one_fail", "of two at once, the one retried gets one marker, at its last attempt", checkLAOneSuccessOneFail},
		scenario{"local_activity/backoff_with_persistent_timer", "a backoff over the local threshold is a marker and a timer; the next attempt after it", checkLABackoffTimer},
		scenario{"local_activity/complete_eventually", "a local activity longer than the task timeout: the task is heartbeated, none times out", checkLACompleteEventually},
		scenario{"local_activity/cancel_try_cancel", "try-cancel resolves at once with a cancel marker; the activity is told", checkLACancelTry},
		scenario{"local_activity/cancel_wait_completed", "wait-cancellation-completed waits for the activity's answer", checkLACancelWait},
		scenario{"local_activity/cancel_abandon", "abandon resolves at once; the activity is never told", checkLACancelAbandon},
		scenario{"local_activity/cancel_failing", "cancelled while backing off on a timer: the timer is cancelled, a cancel marker", checkLACancelFailing},
		scenario{"local_activity/shutdown_sends_cancellation", "the stop cancels a running local activity, records nothing for it, and the next invocation runs it again", checkLAShutdownCancels},
		scenario{"local_activity/complete_after_shutdown", "a local activity completing during the stop is recorded", checkLACompleteAfterShutdown},
	)
}

// laMarker is a LocalActivity marker as sdk-go writes it (and so the C worker).
type laMarker struct {
	event   *historypb.HistoryEvent
	task    int64  // the WorkflowTaskCompleted that recorded it
	ID      string `json:"ActivityID"`
	Type    string `json:"ActivityType"`
	Attempt int32
	Backoff int64 // ns
	result  *commonpb.Payloads
	failure string // the failure's message, "" when none
	cause   string // its kind: "application", "canceled", "timeout"
}

func laMarkers(r *frun, evs []*historypb.HistoryEvent) []laMarker {
	var out []laMarker
	for _, e := range evs {
		a := e.GetMarkerRecordedEventAttributes()
		if a == nil || a.MarkerName != "LocalActivity" {
			continue
		}
		var m laMarker
		data := a.Details["data"]
		r.require(data != nil && len(data.Payloads) == 1, "marker %d has no \"data\"", e.EventId)
		r.noErr(json.Unmarshal(data.Payloads[0].Data, &m), "the marker's data")
		m.event, m.task, m.result = e, a.WorkflowTaskCompletedEventId, a.Details["result"]
		if f := a.GetFailure(); f != nil {
			m.failure = f.Message
			switch {
			case f.GetCanceledFailureInfo() != nil:
				m.cause = "canceled"
			case f.GetTimeoutFailureInfo() != nil:
				m.cause = "timeout"
			default:
				m.cause = "application"
			}
		}
		out = append(out, m)
	}
	return out
}

// laResult decodes a marker's result payloads into |out|.
func laResult(r *frun, m laMarker, out any) {
	r.require(m.result != nil, "marker %d has no result", m.event.EventId)
	r.noErr(converter.GetDefaultDataConverter().FromPayloads(m.result, out), "the marker's result")
}

// noActivityEvents: a local activity never shows as an activity task.
func noActivityEvents(r *frun, evs []*historypb.HistoryEvent) {
	r.equal(0, count(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), "ActivityTaskScheduled events")
}

func checkLACompleteImmediately(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil, "hello")
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("hello", result, "workflow result")
	evs := r.events(ctx, run)
	noActivityEvents(r, evs)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
	r.equal("Echo", ms[0].Type, "the marker's activity type")
	r.equal(int32(1), ms[0].Attempt, "the marker's attempt")
	var got string
	laResult(r, ms[0], &got)
	r.equal("hello", got, "the marker's result")
	firstTask := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	r.require(ms[0].task == firstTask.EventId, "the marker was recorded by task %d, not the first (%d)", ms[0].task, firstTask.EventId)
	r.equal(1, count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), "workflow tasks completed")
}

// wftTimeout starts a workflow with a short workflow task timeout, so that a task carrying a
// timer while a local activity runs is completed (heartbeated) soon.
func wftTimeout(d time.Duration) func(*client.StartWorkflowOptions) {
	return func(o *client.StartWorkflowOptions) { o.WorkflowTaskTimeout = d }
}

// oneTask: every marker was recorded by the first workflow task.
func oneTask(r *frun, evs []*historypb.HistoryEvent, ms []laMarker) {
	firstTask := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	for _, m := range ms {
		r.require(m.task == firstTask.EventId, "marker %d was recorded by task %d, not the first (%d)", m.event.EventId, m.task, firstTask.EventId)
	}
}

func checkLASerial(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result int
	r.succeeds(ctx, run, &result)
	r.equal(3, result, "workflow result")
	evs := r.events(ctx, run)
	noActivityEvents(r, evs)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 3, "want 3 LocalActivity markers, got %d", len(ms))
	for i, m := range ms {
		var v int
		laResult(r, m, &v)
		r.equal(i+1, v, "marker result")
	}
	oneTask(r, evs, ms)
}

func checkLAConcurrent(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result []int
	r.succeeds(ctx, run, &result)
	r.equal([]int{1, 2, 3}, result, "workflow result")
	evs := r.events(ctx, run)
	noActivityEvents(r, evs)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 3, "want 3 LocalActivity markers, got %d", len(ms))
	oneTask(r, evs, ms)
	// They ran at once: the three took 300 ms each, the task well under 3 x 300 ms.
	started := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
	done := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	took := done.EventTime.AsTime().Sub(started.EventTime.AsTime())
	r.require(took < 850*time.Millisecond, "the task took %v: the local activities did not run at once", took)
}

func checkLARetryOnError(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	err := run.Get(ctx, nil)
	var actErr *temporal.ActivityError
	r.require(errors.As(err, &actErr), "expected an activity error, got: %v", err)
	var appErr *temporal.ApplicationError
	r.require(errors.As(actErr.Unwrap(), &appErr), "expected the activity error's cause to be an application error, got: %v", actErr.Unwrap())
	r.equal("activity attempt 5 failed", appErr.Message(), "the cause's message")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker (the last attempt's), got %d", len(ms))
	r.equal(int32(5), ms[0].Attempt, "the marker's attempt")
	r.equal("activity attempt 5 failed", ms[0].failure, "the marker's failure")
}

func checkLANonRetryableFromActivity(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result map[string]any
	r.succeeds(ctx, run, &result)
	r.equal(map[string]any{"type": "NonRetryable", "message": "give up", "non_retryable": 1}, result, "what the workflow got")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
	r.equal(int32(1), ms[0].Attempt, "the marker's attempt (not retried)")
	r.equal("application", ms[0].cause, "the marker's failure")
}

func checkLANonRetryableInOptions(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result map[string]any
	r.succeeds(ctx, run, &result)
	r.equal(map[string]any{"type": "NotRetriedHere", "message": "attempt 1"}, result, "what the workflow got")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
	r.equal(int32(1), ms[0].Attempt, "the marker's attempt (not retried)")
}

func checkLAOneSuccessOneFail(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result []string
	r.succeeds(ctx, run, &result)
	r.equal([]string{"ok", "attempt 3"}, result, "workflow result")
	evs := r.events(ctx, run)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 2, "want 2 LocalActivity markers (none for the attempts retried), got %d", len(ms))
	byType := map[string]laMarker{}
	for _, m := range ms {
		r.require(m.failure == "", "marker %d records a failure: %s", m.event.EventId, m.failure)
		byType[m.Type] = m
	}
	r.equal(int32(1), byType["Succeed"].Attempt, "Succeed's attempt")
	r.equal(int32(3), byType["FailTwice"].Attempt, "FailTwice's attempt")
	oneTask(r, evs, ms)
}

func checkLABackoffTimer(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("attempt 2", result, "workflow result")
	evs := r.events(ctx, run)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 2, "want 2 LocalActivity markers, got %d", len(ms))
	r.equal(int32(1), ms[0].Attempt, "the first marker's attempt")
	r.require(ms[0].failure != "", "the first marker records no failure")
	r.equal(int64(2*time.Second), ms[0].Backoff, "the first marker's backoff (ns)")
	timer := first(evs, enumspb.EVENT_TYPE_TIMER_STARTED)
	r.require(timer != nil, "no TimerStarted: the backoff was not a durable timer")
	ta := timer.GetTimerStartedEventAttributes()
	r.equal(int64(2), ta.GetStartToFireTimeout().GetSeconds(), "the backoff timer (s)")
	r.require(ta.WorkflowTaskCompletedEventId == ms[0].task, "the timer (task %d) is not in the marker's completion (task %d)", ta.WorkflowTaskCompletedEventId, ms[0].task)
	r.require(ms[1].event.EventId > timer.EventId, "the second attempt was recorded before the timer")
	r.equal(int32(2), ms[1].Attempt, "the second marker's attempt")
	r.require(ms[1].ID != ms[0].ID, "the next attempt kept the activity id %s", ms[0].ID)
	r.require(first(evs, enumspb.EVENT_TYPE_TIMER_FIRED) != nil, "the backoff timer did not fire")
}

func checkLACompleteEventually(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", wftTimeout(2*time.Second))
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("done", result, "workflow result")
	evs := r.events(ctx, run)
	r.equal(0, count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), "workflow tasks timed out")
	ms := laMarkers(r, evs)
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
	firstTask := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	r.require(ms[0].task > firstTask.EventId, "the marker came with the first task: it was not heartbeated")
	r.require(count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 3, "want at least 2 heartbeats (5 s, 2 s tasks), got %d tasks",
		count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
}

// lastMarker of type |t|.
func markerOf(ms []laMarker, t string) *laMarker {
	var out *laMarker
	for i := range ms {
		if ms[i].Type == t {
			out = &ms[i]
		}
	}
	return out
}

func checkLACancelTry(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", wftTimeout(2*time.Second))
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("cancel seen", result, "what the cancelled local activity saw")
	ms := laMarkers(r, r.events(ctx, run))
	m := markerOf(ms, "WaitForCancel")
	r.require(m != nil, "no marker for WaitForCancel")
	r.equal("canceled", m.cause, "WaitForCancel's marker")
	s := markerOf(ms, "SawCancel")
	r.require(s != nil && s.task == m.task, "the workflow did not go on at once after the cancel")
}

func checkLACancelWait(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", wftTimeout(2*time.Second))
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("cancel seen", result, "what the await gave (the activity's answer)")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
	r.equal("", ms[0].failure, "the marker's failure (it completed)")
	var got string
	laResult(r, ms[0], &got)
	r.equal("cancel seen", got, "the marker's result")
}

func checkLACancelAbandon(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", wftTimeout(2*time.Second))
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("no cancel seen", result, "what the abandoned local activity saw")
	ms := laMarkers(r, r.events(ctx, run))
	m := markerOf(ms, "RunOn")
	r.require(m != nil, "no marker for RunOn")
	r.equal("canceled", m.cause, "RunOn's marker (its result is dropped)")
	r.equal(1, len(ms)-1, "markers besides RunOn's")
}

func checkLACancelFailing(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("cancelled", result, "workflow result")
	evs := r.events(ctx, run)
	ms := laMarkers(r, evs)
	r.require(len(ms) == 2, "want 2 LocalActivity markers (the failure backing off, the cancel), got %d", len(ms))
	r.require(ms[0].Backoff == int64(10*time.Second), "the first marker's backoff: %d ns", ms[0].Backoff)
	r.equal("canceled", ms[1].cause, "the second marker")
	canceled := first(evs, enumspb.EVENT_TYPE_TIMER_CANCELED)
	r.require(canceled != nil, "no TimerCanceled: the backoff timer was not cancelled")
	r.require(canceled.GetTimerCanceledEventAttributes().WorkflowTaskCompletedEventId == ms[1].task, "the timer was not cancelled with the cancel marker")
}

func checkLAShutdownCancels(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("second run, attempt 1", result, "workflow result")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker (none for the cancelled run), got %d", len(ms))
	r.equal("", ms[0].failure, "the marker's failure")
}

func checkLACompleteAfterShutdown(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("completed after the stop began", result, "workflow result")
	ms := laMarkers(r, r.events(ctx, run))
	r.require(len(ms) == 1, "want 1 LocalActivity marker, got %d", len(ms))
}
