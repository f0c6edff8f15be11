// Commands that talk to a running workflow beyond signals and queries: signal-with-start,
// updates (with their accepted and completed stages), cancellation, and the activities a
// workflow waits on.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

func cmdSignalWithStart(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	wfType := fs.String("type", "", "workflow type (required)")
	queue := fs.String("task-queue", "", "task queue (required)")
	name := fs.String("name", "", "signal name (required)")
	var inputs, sigInputs multiFlag
	fs.Var(&inputs, "input", "JSON argument of the workflow (repeatable, in order)")
	fs.Var(&sigInputs, "signal-input", "JSON argument of the signal (repeatable, in order)")
	execTimeout := fs.Duration("execution-timeout", 0, "workflow execution timeout (0: none)")
	taskTimeout := fs.Duration("task-timeout", 0, "workflow task timeout (0: server default, 10s)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *wfType == "" || *queue == "" || *name == "" {
			return nil, errors.New("--id, --type, --task-queue and --name are required")
		}
		args, err := jsonPayloads(inputs)
		if err != nil {
			return nil, err
		}
		sigArgs, err := jsonPayloads(sigInputs)
		if err != nil {
			return nil, err
		}
		req := &workflowservice.SignalWithStartWorkflowExecutionRequest{
			Namespace:    g.namespace,
			WorkflowId:   *id,
			WorkflowType: &commonpb.WorkflowType{Name: *wfType},
			TaskQueue:    &taskqueuepb.TaskQueue{Name: *queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			Input:        args,
			SignalName:   *name,
			SignalInput:  sigArgs,
			Identity:     identity,
			RequestId:    newRequestID(),
		}
		if *execTimeout > 0 {
			req.WorkflowExecutionTimeout = durationpb.New(*execTimeout)
		}
		if *taskTimeout > 0 {
			req.WorkflowTaskTimeout = durationpb.New(*taskTimeout)
		}
		r, err := c.WorkflowService().SignalWithStartWorkflowExecution(ctx, req)
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": *id, "run_id": r.RunId, "started": r.Started, "signal": *name}, nil
	}
}

// updateStage maps --wait to the server's lifecycle stage.
func updateStage(wait string) (enumspb.UpdateWorkflowExecutionLifecycleStage, error) {
	switch wait {
	case "accepted":
		return enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, nil
	case "completed":
		return enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, nil
	}
	return 0, fmt.Errorf("--wait wants accepted or completed, got %q", wait)
}

// outcomeAnswer is the answer for an update that reached |stage| with |o| (nil before it
// completed); an update that failed or was rejected is an error with its failure's message.
func outcomeAnswer(ref *updatepb.UpdateRef, stage enumspb.UpdateWorkflowExecutionLifecycleStage,
	o *updatepb.Outcome) (any, error) {
	out := map[string]any{
		"workflow_id": ref.GetWorkflowExecution().GetWorkflowId(),
		"run_id":      ref.GetWorkflowExecution().GetRunId(),
		"update_id":   ref.GetUpdateId(),
		"stage":       enumName(stage, "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_"),
	}
	if o == nil {
		return out, nil
	}
	if f := o.GetFailure(); f != nil {
		return nil, fmt.Errorf("update %s failed: %s (%v)", ref.GetUpdateId(), f.Message, jsonText(failureJSON(f)))
	}
	out["result"] = payloadsJSON(o.GetSuccess())
	return out, nil
}

// cmdUpdate calls UpdateWorkflowExecution again while the server answers before the wanted
// stage (its long poll ends after about 10 s, as the SDK's client also retries).
func cmdUpdate(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	name := fs.String("name", "", "update name (required)")
	updateID := fs.String("update-id", "", "update id (default: a random UUID); the same id twice is one update")
	wait := fs.String("wait", "completed", "return once the update is accepted or completed")
	var inputs multiFlag
	fs.Var(&inputs, "input", "JSON argument (repeatable, in order)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *name == "" {
			return nil, errors.New("--id and --name are required")
		}
		stage, err := updateStage(*wait)
		if err != nil {
			return nil, err
		}
		payloads, err := jsonPayloads(inputs)
		if err != nil {
			return nil, err
		}
		if *updateID == "" {
			*updateID = newRequestID()
		}
		req := &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace:         g.namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			WaitPolicy:        &updatepb.WaitPolicy{LifecycleStage: stage},
			Request: &updatepb.Request{
				Meta:  &updatepb.Meta{UpdateId: *updateID, Identity: identity},
				Input: &updatepb.Input{Name: *name, Args: payloads},
			},
		}
		for {
			r, err := c.WorkflowService().UpdateWorkflowExecution(ctx, req)
			if err != nil {
				return nil, err
			}
			if r.Stage >= stage || r.Outcome != nil {
				return outcomeAnswer(r.UpdateRef, r.Stage, r.Outcome)
			}
		}
	}
}

func cmdUpdateResult(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	updateID := fs.String("update-id", "", "update id (required)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *updateID == "" {
			return nil, errors.New("--id and --update-id are required")
		}
		ref := &updatepb.UpdateRef{
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			UpdateId:          *updateID,
		}
		stage := enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
		for {
			r, err := c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
				Namespace:  g.namespace,
				UpdateRef:  ref,
				Identity:   identity,
				WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: stage},
			})
			if err != nil {
				return nil, err
			}
			if r.Outcome != nil {
				return outcomeAnswer(r.UpdateRef, r.Stage, r.Outcome)
			}
		}
	}
}

func cmdCancel(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	reason := fs.String("reason", "tw-driver cancel", "reason")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		_, err := c.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
			Namespace:         g.namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			Identity:          identity,
			RequestId:         newRequestID(),
			Reason:            *reason,
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": *id, "run_id": *runID, "cancel_requested": true}, nil
	}
}

// cmdActivities lists the activities a workflow waits on, with their attempt and last
// heartbeat (details and time), as DescribeWorkflowExecution reports them.
func cmdActivities(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		d, err := c.DescribeWorkflowExecution(ctx, *id, *runID)
		if err != nil {
			return nil, err
		}
		acts := []map[string]any{}
		for _, a := range d.PendingActivities {
			acts = append(acts, map[string]any{
				"activity_id":         a.ActivityId,
				"activity_type":       a.GetActivityType().GetName(),
				"state":               enumName(a.State, "PENDING_ACTIVITY_STATE_"),
				"attempt":             a.Attempt,
				"heartbeat_details":   payloadsJSON(a.HeartbeatDetails),
				"last_heartbeat_time": timeJSON(a.LastHeartbeatTime),
				"last_failure":        failureJSON(a.LastFailure),
			})
		}
		return map[string]any{"workflow_id": *id, "status": statusName(d.WorkflowExecutionInfo.Status),
			"activities": acts}, nil
	}
}
