// Checks of the update scenarios (tests/features/update/).

package main

import (
	"context"
	"errors"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

func init() {
	register(
		scenario{"update/basic", "an update's handler mutates state and returns a value", checkUpdateBasic},
		scenario{"update/basic_async", "updates sent to the accepted stage: a rejected one fails, an accepted one completes", checkUpdateBasicAsync},
		scenario{"update/async_accepted", "an accepted update runs on with no caller waiting; handles see its outcome", checkUpdateAsyncAccepted},
		scenario{"update/activities", "an update handler runs activities and waits for them", checkUpdateActivities},
		scenario{"update/client_interceptor", "a client interceptor changes an update's argument", checkUpdateClientInterceptor},
		scenario{"update/deduplication", "two updates with one id run once", checkUpdateDeduplication},
		scenario{"update/non_durable_reject", "rejected updates leave no event", checkUpdateNonDurableReject},
		scenario{"update/self", "an update sent while the workflow waits on an activity is seen after the activity", checkUpdateSelf},
		scenario{"update/task_failure", "a failing validator rejects, a failing handler fails the update, not the workflow", checkUpdateTaskFailure},
		scenario{"update/validation_replay", "validators do not run on replay", checkUpdateValidationReplay},
		scenario{"update/worker_restart", "an accepted update resumes on a new worker and completes", checkUpdateWorkerRestart},
	)
}

func (r *frun) update(ctx context.Context, run client.WorkflowRun, o client.UpdateWorkflowOptions) client.WorkflowUpdateHandle {
	o.WorkflowID, o.RunID = run.GetID(), run.GetRunID()
	if o.WaitForStage == 0 {
		o.WaitForStage = client.WorkflowUpdateStageCompleted
	}
	h, err := r.c.UpdateWorkflow(ctx, o)
	r.noErr(err, "update "+o.UpdateName)
	return h
}

// noRejectedEvents: rejected updates never reach the history (updateutil's check).
func (r *frun) noRejectedEvents(ctx context.Context) {
	for _, run := range r.runs {
		evs := r.eventsOf(ctx, run.GetID(), "")
		r.equal(0, count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED), "UpdateRejected events in "+run.GetID())
	}
}

func checkUpdateBasic(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	h := r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "my-update-name", Args: []any{"my-update-arg"}})
	var got string
	r.noErr(h.Get(ctx, &got), "update result")
	r.equal("update-result:my-update-arg", got, "update result")
	r.succeeds(ctx, run, &got)
	r.equal("workflow-result:my-update-arg", got, "workflow result")
	r.noRejectedEvents(ctx)
}

func checkUpdateBasicAsync(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	accepted := client.UpdateWorkflowOptions{UpdateName: "my_update", WaitForStage: client.WorkflowUpdateStageAccepted}
	bad := accepted
	bad.Args = []any{"bad-update-arg"}
	h, err := r.c.UpdateWorkflow(ctx, withRun(bad, run))
	if err == nil {
		err = h.Get(ctx, nil)
	}
	r.require(err != nil, "the validator should reject bad-update-arg")
	r.require(strings.Contains(err.Error(), "Invalid Update argument"), "the rejection's message, got %v", err)
	good := accepted
	good.Args = []any{"update-arg"}
	h = r.update(ctx, run, good)
	var got string
	r.noErr(h.Get(ctx, &got), "update result")
	r.equal("update-result", got, "update result")
	r.succeeds(ctx, run, &got)
	r.equal("update-arg", got, "workflow result")
	r.noRejectedEvents(ctx)
}

func withRun(o client.UpdateWorkflowOptions, run client.WorkflowRun) client.UpdateWorkflowOptions {
	o.WorkflowID, o.RunID = run.GetID(), run.GetRunID()
	return o
}

// checkUpdateAsyncAccepted: the handler of "theUpdate" sleeps the given nanoseconds then returns
// 123, or fails at once with "I was told I should fail" (disposition 1).
func checkUpdateAsyncAccepted(ctx context.Context, r *frun) {
	const sleep = 2 * time.Second
	run := r.start(ctx, "Workflow", nil)
	accepted := func(id string, disposition int) client.UpdateWorkflowOptions {
		return client.UpdateWorkflowOptions{UpdateID: id, UpdateName: "theUpdate", Args: []any{sleep, disposition},
			WaitForStage: client.WorkflowUpdateStageAccepted}
	}
	start := time.Now()
	h := r.update(ctx, run, accepted("update:1", 0))
	r.require(time.Since(start) < sleep, "waiting for the accepted stage took %v, more than the handler's %v", time.Since(start), sleep)
	other := r.c.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateID: h.UpdateID()})
	var got int
	r.noErr(other.Get(ctx, &got), "a second handle's result")
	r.equal(123, got, "a second handle's result")
	r.noErr(h.Get(ctx, &got), "the first handle's result")
	r.equal(123, got, "the first handle's result")

	failing := r.update(ctx, run, accepted("update:3", 1))
	err := failing.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	r.require(errors.As(err, &appErr), "a failing handler: want an application error, got %T %v", err, err)

	last := r.update(ctx, run, accepted("update:4", 0))
	short, cancel := context.WithTimeout(ctx, sleep/10)
	err = last.Get(short, nil)
	cancel()
	var de *serviceerror.DeadlineExceeded
	r.require(errors.As(err, &de), "waiting less than the handler sleeps: want DeadlineExceeded, got %T %v", err, err)

	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	r.succeeds(ctx, run, nil)
	r.noRejectedEvents(ctx)
}

func checkUpdateActivities(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	h := r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "updateActivity"})
	var got int
	r.noErr(h.Get(ctx, &got), "update result")
	r.equal(6*5, got, "update result (5 activities returning 6)")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	r.succeeds(ctx, run, nil)
	r.noRejectedEvents(ctx)
}

// addFive is the scenario's client interceptor: it adds 5 to the first argument of "add".
type addFive struct {
	interceptor.ClientInterceptorBase
}

type addFiveOut struct {
	interceptor.ClientOutboundInterceptorBase
}

func (*addFive) InterceptClient(next interceptor.ClientOutboundInterceptor) interceptor.ClientOutboundInterceptor {
	return &addFiveOut{interceptor.ClientOutboundInterceptorBase{Next: next}}
}

func (a *addFiveOut) UpdateWorkflow(ctx context.Context, in *interceptor.ClientUpdateWorkflowInput) (client.WorkflowUpdateHandle, error) {
	if in.UpdateName == "add" {
		in.Args[0] = in.Args[0].(int) + 5
	}
	return a.Next.UpdateWorkflow(ctx, in)
}

func checkUpdateClientInterceptor(ctx context.Context, r *frun) {
	// Its own logger too: the default one writes on stdout, which carries the driver's JSON.
	c, err := client.NewClientFromExisting(r.c, client.Options{Logger: stderrLogger{},
		Interceptors: []interceptor.ClientInterceptor{&addFive{}}})
	r.noErr(err, "a client with the interceptor")
	defer c.Close()
	run := r.start(ctx, "Workflow", nil)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: "add", Args: []any{5}, WaitForStage: client.WorkflowUpdateStageCompleted})
	r.noErr(err, "update add")
	var got int
	r.noErr(h.Get(ctx, &got), "update result")
	r.equal(10, got, "update result")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	r.succeeds(ctx, run, &got)
	r.equal(10, got, "workflow result")
}

func checkUpdateDeduplication(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	o := client.UpdateWorkflowOptions{UpdateID: "reused_update_id", UpdateName: "incrementCount",
		WaitForStage: client.WorkflowUpdateStageAccepted}
	h1 := r.update(ctx, run, o)
	h2 := r.update(ctx, run, o)
	var got int
	r.noErr(h1.Get(ctx, &got), "the first update's result")
	r.equal(1, got, "the first update's result")
	r.noErr(h2.Get(ctx, &got), "the second update's result")
	r.equal(1, got, "the second update's result")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	r.succeeds(ctx, run, nil)
	r.noRejectedEvents(ctx)
	r.equal(1, count(r.events(ctx, run), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), "UpdateCompleted events")
}

func checkUpdateNonDurableReject(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	add := func(n int) error {
		h := r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "updateActivity", Args: []any{n}})
		var got int
		return h.Get(ctx, &got)
	}
	r.require(add(-1) != nil, "expected -1 to be rejected")
	for i := 0; i < 5; i++ {
		r.noErr(add(2), "expected 2 to be accepted")
		r.require(add(-1) != nil, "expected -1 to be rejected")
	}
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	var got int
	r.succeeds(ctx, run, &got)
	r.equal(10, got, "workflow result")
	r.noRejectedEvents(ctx)
	evs := r.events(ctx, run)
	r.equal(5, count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), "UpdateAccepted events (only the accepted ones)")
}

// checkUpdateSelf: in the Go scenario the workflow's own activity sends the update; a C
// activity has no client, so this check sends it while "SelfUpdateActivity" runs (it takes 3 s)
// and the workflow requires the update's effect once the activity's future returned.
func checkUpdateSelf(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.eventually(ctx, "the activity running", 20*time.Second, func() bool {
		d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		return err == nil && len(d.PendingActivities) == 1 &&
			d.PendingActivities[0].State == enumspb.PENDING_ACTIVITY_STATE_STARTED
	})
	h := r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "update!"})
	r.noErr(h.Get(ctx, nil), "update!")
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("called", got, "workflow result")
	evs := r.events(ctx, run)
	done := first(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
	act := first(evs, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	r.require(done != nil && act != nil && done.EventId < act.EventId,
		"the update should complete while the activity runs (UpdateCompleted before ActivityTaskCompleted)")
}

// checkUpdateTaskFailure: C has no panics; the scenario's validator and handler fail instead
// (tw_wf_fail): the validator's failure rejects the update, the handler's fails it, and the
// caller sees each message while the workflow runs on. The Go scenario's panicking handler also
// fails one workflow task; a C handler cannot do that, so that part is not ported.
func checkUpdateTaskFailure(ctx context.Context, r *frun) {
	const msg = "fear not, dear examiner of logs, for this failure was intentional"
	run := r.start(ctx, "Workflow", nil)
	err := r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "fail_from_validate"}).Get(ctx, nil)
	r.require(err != nil && strings.Contains(err.Error(), msg), "the validator's failure: want an error with %q, got %v", msg, err)
	err = r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "fail_from_exec"}).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	r.require(errors.As(err, &appErr) && strings.Contains(err.Error(), msg), "the handler's failure: want an application error with %q, got %v", msg, err)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown!", nil), "signal")
	r.succeeds(ctx, run, nil)
	r.noRejectedEvents(ctx)
}

// checkUpdateValidationReplay: the validator accepts only its first call in a process; every
// later workflow task replays the accepted update, which must not call it again.
func checkUpdateValidationReplay(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.noErr(r.update(ctx, run, client.UpdateWorkflowOptions{UpdateName: "doSomeStuff"}).Get(ctx, nil), "doSomeStuff")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	r.succeeds(ctx, run, nil)
}

// checkUpdateWorkerRestart: the handler of "fetchAndAdd" runs the activity "Block" (500 ms),
// then waits on a 4 s timer. Once the update is accepted the check stops the worker: the
// invocation ends at its idle exit while the handler waits on its timer (the Go scenario holds
// its activity on a latch instead), so the update must resume in a new invocation, which
// replays the accepted update and completes it.
func checkUpdateWorkerRestart(ctx context.Context, r *frun) {
	r.require(r.worker.url != "", "this scenario needs --invoke (it stops and restarts the worker)")
	run := r.start(ctx, "Workflow", nil)
	type outcome struct {
		n   int
		err error
	}
	res := make(chan outcome, 1)
	go func() {
		h, err := r.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
			UpdateName: "fetchAndAdd", Args: []any{1}, WaitForStage: client.WorkflowUpdateStageCompleted})
		var n int
		if err == nil {
			err = h.Get(ctx, &n)
		}
		res <- outcome{n, err}
	}()
	r.waitEvent(ctx, run, "the update accepted", 20*time.Second, isType(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED))
	r.worker.stop()
	r.equal(0, count(r.events(ctx, run), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED),
		"UpdateCompleted events when the first worker stopped (the update must still be running)")
	time.Sleep(time.Second)
	r.worker.start()
	o := <-res
	r.noErr(o.err, "fetchAndAdd")
	r.equal(0, o.n, "fetchAndAdd's result")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "shutdown_signal", nil), "signal")
	var got int
	r.succeeds(ctx, run, &got)
	r.equal(1, got, "workflow result")
}
