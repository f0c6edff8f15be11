// Checks of the signal scenarios (tests/features/signal/).

package main

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
)

func init() {
	register(
		scenario{"signal/basic", "a signal handler's mutation reaches the workflow's result", checkSignalBasic},
		scenario{"signal/activities", "a signal handler runs activities and waits for them", checkSignalActivities},
		scenario{"signal/external", "a client signals a workflow; signalling a missing one fails", checkSignalExternal},
		scenario{"signal/prevent_close", "a signal arriving while the workflow completes keeps it open until handled", checkSignalPreventClose},
		scenario{"signal/signal_with_start", "signal-with-start starts a workflow with the signal, or signals the running one", checkSignalWithStart},
		scenario{"signal/workflow_to_workflow", "a workflow signals another; a missing target fails the signal", checkSignalWorkflowToWorkflow},
	)
}

func checkSignalBasic(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "mySignal", "signal-data"), "signal")
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("signal-data", result, "workflow result")
}

func checkSignalActivities(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "mySignal", nil), "signal")
	var result int
	r.succeeds(ctx, run, &result)
	r.equal(6*5, result, "workflow result (5 activities returning 6)")
	r.equal(5, count(r.events(ctx, run), enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), "activities completed")
}

func checkSignalExternal(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "external_signal_channel", "Signaled!"), "signal")
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("Signaled!", result, "workflow result")
	err := r.c.SignalWorkflow(ctx, r.prefix+"-does-not-exist", "", "external_signal_channel", "x")
	var nf *serviceerror.NotFound
	r.require(errors.As(err, &nf), "signalling a workflow that does not exist: want NotFound, got %v", err)
}

// checkSignalPreventClose, the two checks of the PHP scenario. "Workflow" waits for a first
// "add" signal, then blocks its thread 300 ms and returns the values it got. (1) One signal:
// once the workflow completed, another signal fails with NotFound and the result is [1]. (2) A
// second signal sent while the workflow task that completes it runs: the server refuses the
// completion, the worker runs the workflow again with both signals, the result is [1,2]. (The
// PHP check also reads Workflow::isReplaying(); the C API has no such call.)
func checkSignalPreventClose(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "add", 1), "signal add 1")
	var values []int
	r.succeeds(ctx, run, &values)
	r.equal([]int{1}, values, "values of the first workflow")
	err := r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "add", 2)
	var nf *serviceerror.NotFound
	r.require(errors.As(err, &nf), "signalling the completed workflow: want NotFound, got %v", err)

	run = r.start(ctx, "Workflow", nil)
	r.allowTaskFailures(run.GetID(), func(a *historypb.WorkflowTaskFailedEventAttributes) bool {
		return a.Cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
	})
	r.waitEvent(ctx, run, "the first workflow task completed", 20*time.Second, isType(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "add", 1), "signal add 1")
	// The workflow task that handles the first signal has started (it lasts at least the
	// workflow's 300 ms block): the second signal lands while it runs.
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		r.noErr(err, "describe")
		if d.PendingWorkflowTask.GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED {
			break
		}
		r.require(time.Now().Before(deadline), "no workflow task started for the first signal within 20 s")
		time.Sleep(10 * time.Millisecond)
	}
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "add", 2), "signal add 2")
	r.succeeds(ctx, run, &values)
	r.equal([]int{1, 2}, values, "values of the second workflow (both signals handled)")
	r.note("refused completions (the second signal landed during the completing task): %d",
		count(r.events(ctx, run), enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED))
}

// checkSignalWithStart, the two checks of the PHP scenario: signal-with-start of a new
// workflow (argument 1, signal "add" 42) delivers the signal before the workflow's first wait,
// 43; of a running workflow (started with -2) it signals that run, 40.
func checkSignalWithStart(ctx context.Context, r *frun) {
	o := r.startOpts()
	run, err := r.c.SignalWithStartWorkflow(ctx, o.ID, "add", 42, o, "Workflow", 1)
	r.noErr(err, "signal-with-start")
	r.track(run)
	var result int
	r.succeeds(ctx, run, &result)
	r.equal(43, result, "result of the workflow signal-with-start started")
	evs := r.events(ctx, run)
	r.require(len(evs) > 1 && evs[1].EventType == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		"the signal should be the event after WorkflowExecutionStarted")

	first := r.start(ctx, "Workflow", nil, -2)
	o = r.startOpts()
	o.ID = first.GetID()
	again, err := r.c.SignalWithStartWorkflow(ctx, o.ID, "add", 42, o, "Workflow", 5)
	r.noErr(err, "signal-with-start of a running workflow")
	r.equal(first.GetRunID(), again.GetRunID(), "run signalled (the running one, not a new one)")
	r.succeeds(ctx, first, &result)
	r.equal(40, result, "result of the running workflow")
}

// checkSignalWorkflowToWorkflow: "Receiver" waits for the signal "greet" and returns its
// argument; "Sender" signals the receiver whose id it gets, then a workflow that does not exist,
// and returns what each signal's future gave.
func checkSignalWorkflowToWorkflow(ctx context.Context, r *frun) {
	recv := r.start(ctx, "Receiver", nil)
	send := r.start(ctx, "Sender", nil, recv.GetID(), r.prefix+"-missing")
	var sent map[string]any
	r.succeeds(ctx, send, &sent)
	r.equal(map[string]any{"signalled": "ok", "missing": "ExternalWorkflowExecutionNotFound"}, sent, "sender's result")
	var got string
	r.succeeds(ctx, recv, &got)
	r.equal("hello from the sender", got, "receiver's result")
	evs := r.events(ctx, send)
	r.equal(1, count(evs, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED), "ExternalWorkflowExecutionSignaled events")
	r.equal(1, count(evs, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED), "SignalExternalWorkflowExecutionFailed events")
}
