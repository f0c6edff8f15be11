// Checks of the worker shutdown scenarios (tests/features/worker_shutdown/, activity/shutdown)
// and of eager workflow start (tests/features/eager_workflow/). A Lambda worker's "shutdown" is
// the end of an invocation: at its deadline while work keeps it busy (these scenarios), or at
// its idle exit. invoker.stop() waits for the invocation under way to end and starts no other.

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

func init() {
	register(
		scenario{"worker_shutdown/poll_complete_on_shutdown", "the invocation stops at its deadline with polls open and work coming: no workflow task lost, failed or timed out", checkPollCompleteOnShutdown},
		scenario{"activity/shutdown", "activities running at the stop are told of it and their answers are delivered; one ignoring it times out", checkActivityShutdown},
		scenario{"eager_workflow/successful_start", "a start asking for eager execution runs through the serverless worker", checkEagerSuccessfulStart},
	)
}

// lastSummary is the summary of the invocation that ended last.
func (r *frun) lastSummary() map[string]any {
	r.worker.mu.Lock()
	defer r.worker.mu.Unlock()
	r.require(len(r.worker.summaries) > 0, "no invocation ended")
	return r.worker.summaries[len(r.worker.summaries)-1]
}

// requireDeadlineStop requires that the last invocation stopped at its deadline (the stop these
// scenarios are about), drained, and failed nothing back.
func (r *frun) requireDeadlineStop() {
	s := r.lastSummary()
	r.equal("deadline", s["stopped"], "how the invocation stopped")
	r.equal(float64(0), s["workflow_task_failures"], "workflow task failures of the invocation")
	r.equal(float64(0), s["activities_failed_back_at_stop"], "activities failed back at the stop")
	r.note("invocation that stopped: %s", jsonText(s))
}

// checkPollCompleteOnShutdown: five looping workflows keep the invocation busy until its
// deadline; the stop (ShutdownWorker, polls completed or cancelled, the drain) must lose no
// workflow task: none fails or times out, even a workflow task timeout (5 s) after the stop.
// The invocation is answered before its deadline (an invocation error fails the check).
func checkPollCompleteOnShutdown(ctx context.Context, r *frun) {
	const workflows = 5
	var runs []client.WorkflowRun
	for i := 0; i < workflows; i++ {
		runs = append(runs, r.start(ctx, "Workflow", func(o *client.StartWorkflowOptions) {
			o.WorkflowTaskTimeout = 5 * time.Second
		}))
	}
	defer func() {
		for _, run := range runs {
			_ = r.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "feature cleanup")
		}
	}()
	for _, run := range runs {
		r.waitEvent(ctx, run, "ActivityTaskScheduled", 10*time.Second, isType(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
	}
	r.worker.stop()
	r.requireDeadlineStop()
	// A task handed to a poll the stop dropped would time out after the workflow task
	// timeout: wait past it, then look.
	select {
	case <-ctx.Done():
		r.noErr(ctx.Err(), "waiting past the workflow task timeout")
	case <-time.After(6 * time.Second):
	}
	tasks := 0
	for _, run := range runs {
		evs := r.events(ctx, run)
		tasks += count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
		for _, e := range evs {
			switch e.EventType {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				a := e.GetWorkflowTaskTimedOutEventAttributes()
				sched := evs[a.GetScheduledEventId()-1].GetWorkflowTaskScheduledEventAttributes()
				r.require(false, "unexpected workflow task problem in %s: event %d WorkflowTaskTimedOut (%s) of a task scheduled on %s queue %s (event %d)",
					run.GetID(), e.EventId, enumName(a.GetTimeoutType(), "TIMEOUT_TYPE_"),
					enumName(sched.GetTaskQueue().GetKind(), "TASK_QUEUE_KIND_"), sched.GetTaskQueue().GetName(), a.GetScheduledEventId())
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				r.require(false, "unexpected workflow task problem in %s: event %d %s", run.GetID(), e.EventId, e.EventType)
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
				r.require(false, "unexpected activity problem in %s: event %d %s", run.GetID(), e.EventId, e.EventType)
			}
		}
	}
	r.note("%d workflow tasks completed by %d workflows before the stop", tasks, workflows)
}

// checkActivityShutdown: the workflow's activities run until the invocation's stop; the check
// stops invoking (the invocation under way ends at its deadline), then invokes again, and the
// workflow must return "done" (it checks each activity's outcome itself).
func checkActivityShutdown(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	r.waitEvent(ctx, run, "ActivityTaskScheduled", 5*time.Second, isType(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
	r.worker.stop()
	r.requireDeadlineStop()
	r.worker.start()
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("done", result, "workflow result")
	// The two graceful answers came from the worker in the drain (not failed back).
	for _, e := range r.events(ctx, run) {
		if a := e.GetActivityTaskFailedEventAttributes(); a != nil {
			r.equal("worker is shutting down", a.GetFailure().GetMessage(), "the failed activity's message")
		}
	}
}

// checkEagerSuccessfulStart: the Go scenario's starter shares a process (and a client) with the
// worker, so the server hands it the first workflow task. A Lambda worker shares no process
// with any starter, so eager start cannot apply to it; what can be checked is that starts which
// ask for it still run through the serverless worker:
//   - the Go client with EnableEagerStart (no worker of its own for the queue) does not ask the
//     server for eager execution, and the workflow returns "Hello World";
//   - a raw StartWorkflowExecution with request_eager_execution (what a starter with a worker
//     in its process sends): if the server hands back the first task, nobody runs it here, it
//     times out after the workflow task timeout (2 s), and the serverless worker runs the
//     retry; the workflow returns "Hello World" either way.
func checkEagerSuccessfulStart(ctx context.Context, r *frun) {
	var requested, eager int
	detector := func(ctx context.Context, method string, req, resp any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, resp, cc, opts...)
		if q, ok := req.(*workflowservice.StartWorkflowExecutionRequest); ok && q.RequestEagerExecution {
			requested++
			if p, ok := resp.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil && p.GetEagerWorkflowTask() != nil {
				eager++
			}
		}
		return err
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: g.address, Namespace: g.namespace,
		Identity: "tw-driver-eager", Logger: stderrLogger{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(detector)}}})
	r.noErr(err, "dialling a client with the eager detector")
	defer c.Close()
	o := r.startOpts()
	o.EnableEagerStart = true
	o.WorkflowTaskTimeout = time.Hour // as the Go scenario: a retried task would hang the check
	run, err := c.ExecuteWorkflow(ctx, o, "Workflow")
	r.noErr(err, "starting with EnableEagerStart")
	r.track(run)
	var result string
	r.succeeds(ctx, run, &result)
	r.equal("Hello World", result, "workflow result (EnableEagerStart)")
	r.equal(0, requested, "eager requests the Go client sent without a worker of its own")

	// The raw request.
	o = r.startOpts()
	resp, err := r.c.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace:                g.namespace,
		WorkflowId:               o.ID,
		WorkflowType:             &commonpb.WorkflowType{Name: "Workflow"},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: r.queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		WorkflowExecutionTimeout: durationpb.New(time.Minute),
		WorkflowTaskTimeout:      durationpb.New(2 * time.Second),
		Identity:                 "tw-driver-eager-starter",
		RequestId:                requestID(),
		RequestEagerExecution:    true,
	})
	r.noErr(err, "StartWorkflowExecution with request_eager_execution")
	run = r.track(r.c.GetWorkflow(ctx, o.ID, resp.RunId))
	handed := resp.GetEagerWorkflowTask() != nil
	r.succeeds(ctx, run, &result)
	r.equal("Hello World", result, "workflow result (request_eager_execution)")
	evs := r.events(ctx, run)
	timedOut := count(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
	if handed {
		r.require(timedOut == 1, "the eager task nobody ran should time out once, got %d timeouts", timedOut)
		started := first(evs, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		r.note("the eager task was started by %q", started.GetWorkflowTaskStartedEventAttributes().GetIdentity())
	} else {
		r.require(timedOut == 0, "no eager task handed out, yet %d workflow task timeouts", timedOut)
	}
	r.note("the server handed the eager task to the starter: %v; workflow task timeouts: %d", handed, timedOut)
}

// requestID is a random UUID (version 4) for a raw request's request_id.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
