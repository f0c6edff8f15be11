// Checks of the child workflow scenarios (tests/features/child_workflow/ and
// signal/child_workflow): a C parent starts C children on the same task queue; the checks read
// the parent's result or failure through the client, and the histories of both.

package main

import (
	"context"
	"errors"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		scenario{"child_workflow/result", "a parent gets its child's result", checkChildResult},
		scenario{"child_workflow/signal", "a parent signals its child through its handle", checkChildSignal},
		scenario{"signal/child_workflow", "a signal sent to a child through its handle reaches its handler", checkSignalChild},
		scenario{"child_workflow/start", "a parent returns its child's workflow id and first run id; the client reads the child's result with them", checkChildStart},
		scenario{"child_workflow/handle", "a child's future has its workflow id and run id, its result, and signals it", checkChildHandle},
		scenario{"child_workflow/retry", "a child with a retry policy of 3 attempts runs 3 times", checkChildRetry},
		scenario{"child_workflow/throws_on_execute", "a child's failure reaches the parent's client as ChildWorkflowExecutionError caused by it", checkChildThrowsOnExecute},
		scenario{"child_workflow/throws_on_start", "starting a second child with a taken id fails with already started", checkChildThrowsOnStart},
		scenario{"child_workflow/throws_on_termination", "a terminated child fails the parent's wait with a TerminatedError cause", checkChildThrowsOnTermination},
		scenario{"child_workflow/throws_on_timeout", "a child that times out fails the parent's wait with a TimeoutError cause", checkChildThrowsOnTimeout},
		scenario{"child_workflow/cancel_try_cancel", "a child cancelled with TRY: the await returns at once, the child gets the request and ends cancelled", checkChildCancelTry},
		scenario{"child_workflow/cancel_wait_requested", "a child cancelled with WAIT_REQUESTED: the await returns once the request is delivered", checkChildCancelWaitRequested},
		scenario{"child_workflow/cancel_wait_completed", "a child cancelled with WAIT_COMPLETED: the await returns once the child ended cancelled", checkChildCancelWaitCompleted},
		scenario{"child_workflow/cancel_abandon", "an abandoned child outlives its parent's cancel, and the cancel of the coroutine that waits on it", checkChildCancelAbandon},
	)
}

// childStarted is the first ChildWorkflowExecutionStarted of |run|'s history (waited for).
func childStarted(ctx context.Context, r *frun, run client.WorkflowRun) *historypb.ChildWorkflowExecutionStartedEventAttributes {
	e := r.waitEvent(ctx, run, "ChildWorkflowExecutionStarted", 20*time.Second,
		isType(enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED))
	return e.GetChildWorkflowExecutionStartedEventAttributes()
}

// parentFailure waits for |run| to fail and returns the ChildWorkflowExecutionError it failed
// with (the C parent re-raises what its wait on the child returned).
func parentFailure(ctx context.Context, r *frun, run client.WorkflowRun) *temporal.ChildWorkflowExecutionError {
	err := run.Get(ctx, nil)
	r.require(err != nil, "%s should fail", run.GetID())
	var ce *temporal.ChildWorkflowExecutionError
	r.require(errors.As(err, &ce), "want a ChildWorkflowExecutionError, got %v", err)
	return ce
}

func checkChildResult(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("test", got, "parent's result")
	evs := r.events(ctx, run)
	r.equal(1, count(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), "ChildWorkflowExecutionCompleted events")
	init := first(evs, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED).GetStartChildWorkflowExecutionInitiatedEventAttributes()
	r.equal(600.0, init.GetWorkflowExecutionTimeout().AsDuration().Seconds(), "child's execution timeout (s)")
	r.equal(60.0, init.GetWorkflowTaskTimeout().AsDuration().Seconds(), "child's task timeout (s)")
	r.equal(r.queue, init.GetTaskQueue().GetName(), "child's task queue (the parent's)")
}

func checkChildSignal(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("unblock", got, "parent's result")
	evs := r.events(ctx, run)
	r.equal(1, count(evs, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED), "ExternalWorkflowExecutionSignaled events")
	sig := first(evs, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED).GetSignalExternalWorkflowExecutionInitiatedEventAttributes()
	r.require(sig.GetChildWorkflowOnly(), "the signal should be sent as the child's parent (child_workflow_only)")
	started := first(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
	r.require(started != nil && started.EventId < first(evs, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED).EventId,
		"the signal should go out once the child started")
}

func checkSignalChild(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("child-wf-arg signal-arg", got, "parent's result")
}

func checkChildStart(ctx context.Context, r *frun) {
	registered := r.saRegister(ctx) // the child's CustomKeywordField (feature_sa.go)
	run := r.start(ctx, "Workflow", nil)
	r.saAllowLag(ctx, run, registered)
	var got struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	r.succeeds(ctx, run, &got)
	r.require(got.WorkflowID != "" && got.RunID != "", "the parent should return the child's ids, got %+v", got)
	var res string
	r.noErr(r.c.GetWorkflow(ctx, got.WorkflowID, got.RunID).Get(ctx, &res), "the child's result by its ids")
	r.equal("child-input", res, "child's result")
	d, err := r.c.DescribeWorkflowExecution(ctx, got.WorkflowID, got.RunID)
	r.noErr(err, "describing the child")
	r.equal(run.GetID(), d.GetWorkflowExecutionInfo().GetParentExecution().GetWorkflowId(), "the child's parent")
	r.equal(got.RunID, d.GetWorkflowExecutionInfo().GetFirstRunId(), "the child's first run id")
	memo := d.GetWorkflowExecutionInfo().GetMemo().GetFields()["note"]
	r.require(memo != nil, "the child should have the memo field note")
	r.equal("\"from-parent\"", string(memo.GetData()), "the child's memo note")
	sa := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["CustomKeywordField"]
	r.require(sa != nil, "the child should have the search attribute CustomKeywordField")
	r.equal("\"from-parent\"", string(sa.GetData()), "the child's CustomKeywordField")
}

func checkChildHandle(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	st := childStarted(ctx, r, run)
	r.equal(map[string]any{
		"workflow_id":   run.GetID() + "-child",
		"run_id_before": "(null)",
		"run_id":        st.GetWorkflowExecution().GetRunId(),
		"result":        "hello done",
	}, got, "parent's result")
}

func checkChildRetry(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	r.equal(map[string]any{"kind": 6.0, "type": "ChildFailure", "message": "attempt 3",
		"retry_state": float64(enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED), "cause_kind": 0.0},
		got, "the failure the parent saw")
	st := childStarted(ctx, r, run)
	evs := r.eventsOf(ctx, st.GetWorkflowExecution().GetWorkflowId(), "")
	r.equal(int32(3), evs[0].GetWorkflowExecutionStartedEventAttributes().GetAttempt(), "the last run's attempt")
}

func checkChildThrowsOnExecute(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	ce := parentFailure(ctx, r, run)
	// The child's identity travels with the re-raised failure (sdk-go prints it in Error()).
	r.require(strings.Contains(ce.Error(), "type: ChildWorkflow,"),
		"the child workflow failure should name the child's type: %v", ce)
	var app *temporal.ApplicationError
	r.require(errors.As(ce, &app), "want an ApplicationError cause, got %v", ce.Unwrap())
	r.equal("TestError", app.Type(), "cause's type")
	r.equal("Test message", app.Message(), "cause's message")
	r.require(app.NonRetryable(), "the cause should be non-retryable")
	var details map[string]string
	r.noErr(app.Details(&details), "cause's details")
	r.equal(map[string]string{"foo": "bar"}, details, "cause's details")
}

func checkChildThrowsOnStart(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	r.equal(map[string]any{"second": "ChildWorkflowExecutionAlreadyStarted",
		"second_result": "ChildWorkflowExecutionAlreadyStarted", "first": "exited"}, got, "parent's result")
	evs := r.events(ctx, run)
	f := first(evs, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
	r.require(f != nil, "no StartChildWorkflowExecutionFailed")
	r.equal(enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS.String(),
		f.GetStartChildWorkflowExecutionFailedEventAttributes().GetCause().String(), "the start's failure cause")
}

func checkChildThrowsOnTermination(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var ids struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	r.eventually(ctx, "the parent's query answering the child's ids", 20*time.Second, func() bool {
		v, err := r.c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "child")
		return err == nil && v.Get(&ids) == nil
	})
	r.noErr(r.c.TerminateWorkflow(ctx, ids.WorkflowID, ids.RunID, "feature check"), "terminating the child")
	ce := parentFailure(ctx, r, run)
	var te *temporal.TerminatedError
	r.require(errors.As(ce, &te), "want a TerminatedError cause, got %v", ce.Unwrap())
	r.equal(1, count(r.events(ctx, run), enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED), "ChildWorkflowExecutionTerminated events")
}

func checkChildThrowsOnTimeout(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	ce := parentFailure(ctx, r, run)
	var te *temporal.TimeoutError
	r.require(errors.As(ce, &te), "want a TimeoutError cause, got %v", ce.Unwrap())
	r.equal(1, count(r.events(ctx, run), enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT), "ChildWorkflowExecutionTimedOut events")
}

// ---- cancellation ---------------------------------------------------------------------------

// cancelledChild: the parent's cancel request went to its child as such (child_workflow_only),
// and the child ended cancelled, having got the request. Returns the parent's events and the
// cancel request's.
func cancelledChild(ctx context.Context, r *frun, run client.WorkflowRun) ([]*historypb.HistoryEvent, *historypb.HistoryEvent) {
	evs := r.events(ctx, run)
	req := first(evs, enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
	r.require(req != nil, "no RequestCancelExternalWorkflowExecutionInitiated in the parent")
	r.require(req.GetRequestCancelExternalWorkflowExecutionInitiatedEventAttributes().GetChildWorkflowOnly(),
		"the cancel request should be the parent's (child_workflow_only)")
	child := childStarted(ctx, r, run).GetWorkflowExecution()
	err := r.c.GetWorkflow(ctx, child.GetWorkflowId(), child.GetRunId()).Get(ctx, nil)
	var ce *temporal.CanceledError
	r.require(errors.As(err, &ce), "want the child cancelled, got %v", err)
	cevs := r.eventsOf(ctx, child.GetWorkflowId(), child.GetRunId())
	r.equal(1, count(cevs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), "the child's cancel requests")
	return evs, req
}

func checkChildCancelTry(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	r.equal(map[string]any{"await": -5.0, "cause": 2.0, "heard": 0.0}, got,
		"the parent's await (TW_ECANCELED, caused by a cancellation) and the child's signal")
	evs, req := cancelledChild(ctx, r, run)
	timer := first(evs, enumspb.EVENT_TYPE_TIMER_STARTED) // the wait for the child's signal
	r.require(timer != nil, "no TimerStarted in the parent")
	r.equal(taskOf(req), taskOf(timer), "the task of the cancel request and of the wait after the await (the await did not wait)")
}

func checkChildCancelWaitRequested(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	r.equal(map[string]any{"await": -5.0, "cause": 2.0}, got, "the parent's await (TW_ECANCELED, caused by a cancellation)")
	evs, _ := cancelledChild(ctx, r, run)
	delivered := first(evs, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
	r.require(delivered != nil, "no ExternalWorkflowExecutionCancelRequested in the parent")
	r.require(taskOf(evs[len(evs)-1]) > delivered.EventId,
		"the parent should complete in a task after the request was delivered (event %d)", delivered.EventId)
}

func checkChildCancelWaitCompleted(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var got map[string]any
	r.succeeds(ctx, run, &got)
	r.equal(map[string]any{"await": -5.0, "kind": 6.0, "cause": 2.0}, got,
		"the parent's await (TW_ECANCELED, a child workflow failure caused by a cancellation)")
	evs, _ := cancelledChild(ctx, r, run)
	ended := first(evs, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED)
	r.require(ended != nil, "no ChildWorkflowExecutionCanceled in the parent")
	r.require(taskOf(evs[len(evs)-1]) > ended.EventId,
		"the parent should complete after the child ended (event %d)", ended.EventId)
}

// checkChildCancelAbandon, the PHP scenario's three checks: the parent ("MainScope", then
// "InnerScope") is cancelled, or (InnerScope) its coroutine is cancelled by the signal "close";
// each time the parent returns "cancelled" within 5 s, its 5 s timer is cancelled, no cancel
// request goes to the child, and the child, signalled "exit", completes with its input.
func checkChildCancelAbandon(ctx context.Context, r *frun) {
	for _, c := range []struct{ wfType, input, how string }{
		{"MainScope", "test 42", "cancel"}, {"InnerScope", "baz", "cancel"}, {"InnerScope", "foo bar", "close"},
	} {
		run := r.start(ctx, c.wfType, nil, c.input)
		child := childStarted(ctx, r, run).GetWorkflowExecution()
		r.waitEvent(ctx, run, "TimerStarted", 20*time.Second, isType(enumspb.EVENT_TYPE_TIMER_STARTED))
		if c.how == "cancel" {
			r.noErr(r.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()), "cancel "+c.wfType)
		} else {
			r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "close", nil), "signal close")
		}
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		var got string
		r.noErr(run.Get(short, &got), c.wfType+"'s result within 5 s")
		cancel()
		r.equal("cancelled", got, c.wfType+" ("+c.how+") result")
		evs := r.events(ctx, run)
		r.equal(0, count(evs, enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED), c.wfType+"'s cancel requests to the child")
		r.equal(1, count(evs, enumspb.EVENT_TYPE_TIMER_CANCELED), c.wfType+"'s 5 s timer cancelled")
		r.noErr(r.c.SignalWorkflow(ctx, child.GetWorkflowId(), child.GetRunId(), "exit", nil), "signal the child exit")
		var res string
		r.noErr(r.c.GetWorkflow(ctx, child.GetWorkflowId(), child.GetRunId()).Get(ctx, &res), "the child's result")
		r.equal(c.input, res, "the abandoned child's result")
	}
}
