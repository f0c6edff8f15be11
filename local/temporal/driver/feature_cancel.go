// Checks of the workflow-cancellation parts of the child_workflow scenarios
// (tests/features/child_workflow/): each upstream scenario cancels a child from its parent;
// the parts that need no child workflow are ported with the client (or another workflow, by
// RequestCancelExternalWorkflowExecution) in the parent's place.

package main

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		scenario{"child_workflow/cancel_abandon", "a cancelled workflow's blocked calls return cancelled, its cleanup still runs timers (the parent's side)", checkCancelAbandonParent},
		scenario{"child_workflow/cancel_try_cancel", "a workflow that gets a cancel request ends cancelled (the child's side)", checkCancelChildEndsCancelled},
		scenario{"child_workflow/cancel_wait_completed", "a workflow may ignore a cancel request and complete (the child's side)", checkCancelChildIgnores},
		scenario{"child_workflow/cancel_wait_requested", "cancelling another workflow resolves once the server recorded the request", checkCancelExternal},
	)
}

// waitTimerStarted waits until |run| started a timer (so the workflow is waiting).
func waitTimerStarted(ctx context.Context, r *frun, run client.WorkflowRun) {
	r.waitEvent(ctx, run, "TimerStarted", 20*time.Second, isType(enumspb.EVENT_TYPE_TIMER_STARTED))
}

// resultWithin waits at most |d| (the PHP checker's getResult(timeout: 5)) for a string result.
func resultWithin(ctx context.Context, r *frun, run client.WorkflowRun, d time.Duration) string {
	short, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var s string
	r.noErr(run.Get(short, &s), "result of "+run.GetID()+" within "+d.String())
	return s
}

// checkCancelAbandonParent, the parent's side of the PHP scenario's three checks:
//   - "MainScope" waits on a 5 s timer; the client cancels the workflow: the wait returns
//     cancelled, the timer is cancelled, the cleanup (a 1 s timer) runs, the result is
//     "cancelled" within 5 s;
//   - "InnerScope" waits in a coroutine on a 5 s timer; the same, the cancel reaching the
//     coroutine;
//   - "InnerScope" again, its coroutine's timer cancelled from the handler of the signal
//     "close" instead of by a workflow cancel.
func checkCancelAbandonParent(ctx context.Context, r *frun) {
	for _, wfType := range []string{"MainScope", "InnerScope"} {
		run := r.start(ctx, wfType, nil)
		waitTimerStarted(ctx, r, run)
		r.noErr(r.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()), "cancel "+wfType)
		r.equal("cancelled", resultWithin(ctx, r, run, 5*time.Second), wfType+" result")
		checkCleanupAfterCancel(ctx, r, run, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	}
	run := r.start(ctx, "InnerScope", nil)
	waitTimerStarted(ctx, r, run)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "close", nil), "signal close")
	r.equal("cancelled", resultWithin(ctx, r, run, 5*time.Second), "InnerScope result after close")
	checkCleanupAfterCancel(ctx, r, run, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
}

// checkCleanupAfterCancel: after the |cause| event, the waited-on timer was cancelled and the
// cleanup timer started and fired; the workflow completed.
func checkCleanupAfterCancel(ctx context.Context, r *frun, run client.WorkflowRun, cause enumspb.EventType) {
	evs := r.events(ctx, run)
	at := first(evs, cause)
	r.require(at != nil, "%s: no %s event", run.GetID(), enumName(cause, "EVENT_TYPE_"))
	var canceled, started, fired bool
	for _, e := range evs {
		if e.EventId < at.EventId {
			continue
		}
		switch e.EventType {
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			canceled = true
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			started = true
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			fired = started
		}
	}
	r.require(canceled, "%s: the 5 s timer should be cancelled, not left to fire", run.GetID())
	r.require(started && fired, "%s: the cleanup timer should start and fire after the cancel", run.GetID())
	r.equal("WORKFLOW_EXECUTION_COMPLETED", enumName(evs[len(evs)-1].EventType, "EVENT_TYPE_"), run.GetID()+"'s last event")
}

// checkCancelChildEndsCancelled: "Child" waits for the signal "exit"; the client cancels it: it
// ends as cancelled (WorkflowExecutionCanceled), its wait's timer cancelled.
func checkCancelChildEndsCancelled(ctx context.Context, r *frun) {
	run := r.start(ctx, "Child", nil, "child-input")
	waitTimerStarted(ctx, r, run)
	r.noErr(r.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()), "cancel")
	err := run.Get(ctx, nil)
	var ce *temporal.CanceledError
	r.require(errors.As(err, &ce), "want the workflow cancelled, got %v", err)
	evs := r.events(ctx, run)
	r.equal("WORKFLOW_EXECUTION_CANCELED", enumName(evs[len(evs)-1].EventType, "EVENT_TYPE_"), "last event")
	r.equal(1, count(evs, enumspb.EVENT_TYPE_TIMER_CANCELED), "timers cancelled")
}

// checkCancelChildIgnores: "Child" sleeps 1 s three times; a cancel request arrives during the
// first sleep: that sleep returns cancelled, the child goes on, sleeps twice more and completes
// with "ignored the cancel".
func checkCancelChildIgnores(ctx context.Context, r *frun) {
	run := r.start(ctx, "Child", nil)
	waitTimerStarted(ctx, r, run)
	r.noErr(r.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()), "cancel")
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("ignored the cancel", got, "workflow result")
	evs := r.events(ctx, run)
	at := first(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	r.require(at != nil, "no WorkflowExecutionCancelRequested")
	fired := 0
	for _, e := range evs {
		if e.EventId > at.EventId && e.EventType == enumspb.EVENT_TYPE_TIMER_FIRED {
			fired++
		}
	}
	r.equal(2, fired, "timers fired after the cancel request")
}

// checkCancelExternal: "Canceller" cancels "Child" (whose id it gets) with
// RequestCancelExternalWorkflowExecution; its future resolves on
// ExternalWorkflowExecutionCancelRequested and it returns "requested"; the child ends cancelled.
// Cancelling a workflow that does not exist fails with the failure's type returned.
func checkCancelExternal(ctx context.Context, r *frun) {
	child := r.start(ctx, "Child", nil, "child-input")
	waitTimerStarted(ctx, r, child)
	canceller := r.start(ctx, "Canceller", nil, child.GetID(), r.prefix+"-missing")
	var got map[string]any
	r.succeeds(ctx, canceller, &got)
	r.equal(map[string]any{"cancel": "requested", "missing": "ExternalWorkflowExecutionNotFound"}, got, "canceller's result")
	var ce *temporal.CanceledError
	err := child.Get(ctx, nil)
	r.require(errors.As(err, &ce), "want the child cancelled, got %v", err)
	evs := r.events(ctx, canceller)
	r.equal(1, count(evs, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED), "ExternalWorkflowExecutionCancelRequested events")
	r.equal(1, count(evs, enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED), "RequestCancelExternalWorkflowExecutionFailed events")
}
