// Checks of the continue-as-new scenarios (tests/features/continue_as_new/).

package main

import (
	"context"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

func init() {
	register(
		scenario{"continue_as_new/continue_as_same", "a workflow continues as new with its own argument; id and memo are kept", checkCANSame},
		scenario{"continue_as_new/signals_block_continue_as_new", "a signal arriving while the workflow continues as new is handled on the run that continues", checkCANSignals},
		scenario{"continue_as_new/updates_do_not_block_continue_as_new", "an update admitted while the workflow continues as new is handled on the new run", checkCANUpdates},
	)
}

// canStarted is the WorkflowExecutionStarted attributes of run |runID| of |id|.
func (r *frun) canStarted(ctx context.Context, id, runID string) *historypb.WorkflowExecutionStartedEventAttributes {
	evs := r.eventsOf(ctx, id, runID)
	r.require(len(evs) > 0, "no history for run %s of %s", runID, id)
	return evs[0].GetWorkflowExecutionStartedEventAttributes()
}

// canClosedAsContinued: the history of run |runID| ends with WorkflowExecutionContinuedAsNew;
// it returns the new run's id.
func (r *frun) canClosedAsContinued(ctx context.Context, id, runID string) string {
	evs := r.eventsOf(ctx, id, runID)
	last := evs[len(evs)-1]
	r.require(last.EventType == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
		"run %s of %s should end continued as new, ends with %s", runID, id, last.EventType)
	return last.GetWorkflowExecutionContinuedAsNewEventAttributes().NewExecutionRunId
}

// checkCANSame, the Go scenario's check plus the chain: the result is the input, the workflow
// id is the same, the memo of the start is kept; the first run ends continued as new, and the
// new run's started event names it as the run it continues and as the chain's first.
func checkCANSame(ctx context.Context, r *frun) {
	const input, memoKey, memoValue = "InputData", "MemoKey", "MemoValue"
	run := r.start(ctx, "Workflow", func(o *client.StartWorkflowOptions) {
		o.Memo = map[string]any{memoKey: memoValue}
	}, input)
	firstRun := run.GetRunID() // Get follows the chain: GetRunID is then the last run's
	var result string
	r.succeeds(ctx, run, &result)
	r.equal(input, result, "workflow result")
	d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), "")
	r.noErr(err, "describe")
	r.equal(run.GetID(), d.WorkflowExecutionInfo.Execution.WorkflowId, "workflow id after continue-as-new")
	p, ok := d.WorkflowExecutionInfo.GetMemo().GetFields()[memoKey]
	r.require(ok, "memo %s missing after continue-as-new", memoKey)
	var memo string
	r.noErr(converter.GetDefaultDataConverter().FromPayload(p, &memo), "decoding the memo")
	r.equal(memoValue, memo, "memo after continue-as-new")
	newRun := r.canClosedAsContinued(ctx, run.GetID(), firstRun)
	r.equal(d.WorkflowExecutionInfo.Execution.RunId, newRun, "the latest run is the one the first continued as")
	at := r.canStarted(ctx, run.GetID(), newRun)
	r.equal(firstRun, at.ContinuedExecutionRunId, "the new run's continued_execution_run_id")
	r.equal(firstRun, at.FirstExecutionRunId, "the new run's first_execution_run_id")
	r.equal(enumspb.CONTINUE_AS_NEW_INITIATOR_WORKFLOW, at.Initiator, "initiator")
}

// waitTaskStarted waits until the workflow task of run |run| has started (a worker runs it).
func (r *frun) waitTaskStarted(ctx context.Context, run client.WorkflowRun) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		r.noErr(err, "describe")
		if d.PendingWorkflowTask.GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED {
			return
		}
		r.require(time.Now().Before(deadline), "no workflow task started within 20 s")
		time.Sleep(10 * time.Millisecond)
	}
}

// checkCANSignals: once the first run's task has started (the workflow blocks it 500 ms), a
// signal "add" 1; the server refuses the continue-as-new that task answers, the next task of
// the first run handles the signal and continues with [1], which the new run returns. The
// signal is in the first run's history, not the new one's.
func checkCANSignals(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.allowTaskFailures(run.GetID(), func(a *historypb.WorkflowTaskFailedEventAttributes) bool {
		return a.Cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
	})
	firstRun := run.GetRunID()
	r.waitTaskStarted(ctx, run)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), firstRun, "add", 1), "signal add 1")
	var values []int
	r.succeeds(ctx, run, &values)
	r.equal([]int{1}, values, "result (the signal handled before continuing)")
	first := r.eventsOf(ctx, run.GetID(), firstRun)
	r.equal(1, count(first, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), "signals in the first run's history")
	newRun := r.canClosedAsContinued(ctx, run.GetID(), firstRun)
	r.equal(0, count(r.eventsOf(ctx, run.GetID(), newRun), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
		"signals in the new run's history")
	r.note("refused answers of the first run (the signal landed during its task): %d",
		count(first, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED))
}

// checkCANUpdates, the Python scenario's check: once the first run's task has started (it
// blocks 700 ms), an update "update-id" is sent to the workflow id (no run) and found admitted
// while that task runs; the first run continues as new anyway, and the update is handled on
// the new run (its answer is that run's id; its events are only in the new run's history).
func checkCANUpdates(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	firstRun := run.GetRunID()
	r.waitTaskStarted(ctx, run)
	type answer struct {
		runID string
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		h, err := r.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(),
			UpdateID: "update-id", UpdateName: "update", WaitForStage: client.WorkflowUpdateStageCompleted})
		var a answer
		if a.err = err; err == nil {
			a.err = h.Get(ctx, &a.runID)
		}
		done <- a
	}()
	r.eventually(ctx, "the update admitted", 5*time.Second, func() bool {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := r.c.WorkflowService().PollWorkflowExecutionUpdate(pctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
			Namespace: g.namespace,
			UpdateRef: &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID()},
				UpdateId: "update-id"},
		})
		return err == nil
	})
	d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), firstRun)
	r.noErr(err, "describe")
	r.require(d.PendingWorkflowTask.GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_STARTED,
		"the update should be admitted while the first run's task runs (task state %s, status %s)",
		d.PendingWorkflowTask.GetState(), d.WorkflowExecutionInfo.Status)
	a := <-done
	r.noErr(a.err, "update")
	var result string
	r.succeeds(ctx, run, &result)
	r.require(a.runID != "" && a.runID != firstRun, "the update should be handled on the new run, got run %q (first %s)",
		a.runID, firstRun)
	r.equal(result, a.runID, "the update's run (the workflow's last run)")
	r.equal(a.runID, r.canClosedAsContinued(ctx, run.GetID(), firstRun), "the run the first continued as")
	updates := func(evs []*historypb.HistoryEvent) int {
		return count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) +
			count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
	}
	r.equal(0, updates(r.eventsOf(ctx, run.GetID(), firstRun)), "update events in the first run's history")
	r.equal(2, updates(r.eventsOf(ctx, run.GetID(), a.runID)), "update events in the new run's history")
}
