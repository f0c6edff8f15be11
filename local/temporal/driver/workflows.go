// Client-side commands that start, signal, query, update, cancel, await and read workflows.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func cmdStart(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (default: a random UUID)")
	wfType := fs.String("type", "", "workflow type (required)")
	queue := fs.String("task-queue", "", "task queue (required)")
	var inputs multiFlag
	fs.Var(&inputs, "input", "JSON argument (repeatable, in order)")
	execTimeout := fs.Duration("execution-timeout", 0, "workflow execution timeout (0: none)")
	runTimeout := fs.Duration("run-timeout", 0, "workflow run timeout (0: none)")
	taskTimeout := fs.Duration("task-timeout", 0, "workflow task timeout (0: server default, 10s)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *wfType == "" || *queue == "" {
			return nil, errors.New("--type and --task-queue are required")
		}
		args, err := jsonArgs(inputs)
		if err != nil {
			return nil, err
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: *id, TaskQueue: *queue, WorkflowExecutionTimeout: *execTimeout,
			WorkflowRunTimeout: *runTimeout, WorkflowTaskTimeout: *taskTimeout,
		}, *wfType, args...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": run.GetID(), "run_id": run.GetRunID()}, nil
	}
}

// forEach runs fn(i) for i in [0, n) on |parallel| goroutines.
func forEach(n, parallel int, fn func(i int)) {
	if parallel < 1 {
		parallel = 1
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func cmdStartMany(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	count := fs.Int("count", 0, "how many (required)")
	prefix := fs.String("id-prefix", "", "workflow ids are PREFIX-0, PREFIX-1, ... (required)")
	wfType := fs.String("type", "", "workflow type (required)")
	queue := fs.String("task-queue", "", "task queue (required)")
	input := fs.String("input", "{i}", "JSON argument; {i} is replaced by the workflow's number")
	taskTimeout := fs.Duration("task-timeout", 0, "workflow task timeout (0: server default, 10s)")
	parallel := fs.Int("parallel", 16, "starts in flight at once")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *count <= 0 || *prefix == "" || *wfType == "" || *queue == "" {
			return nil, errors.New("--count, --id-prefix, --type and --task-queue are required")
		}
		var mu sync.Mutex
		var firstErr error
		forEach(*count, *parallel, func(i int) {
			in := strings.ReplaceAll(*input, "{i}", strconv.Itoa(i))
			args, err := jsonArgs([]string{in})
			if err == nil {
				_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: fmt.Sprintf("%s-%d", *prefix, i), TaskQueue: *queue,
					WorkflowTaskTimeout: *taskTimeout,
				}, *wfType, args...)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("workflow %s-%d: %w", *prefix, i, err)
				}
				mu.Unlock()
			}
		})
		if firstErr != nil {
			return nil, firstErr
		}
		return map[string]any{"started": *count}, nil
	}
}

// cmdAwaitMany answers even when some workflows are still open at --timeout (status "OPEN"),
// so a caller sees which ones.
func cmdAwaitMany(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	count := fs.Int("count", 0, "how many (required)")
	prefix := fs.String("id-prefix", "", "workflow ids are PREFIX-0, PREFIX-1, ... (required)")
	parallel := fs.Int("parallel", 32, "waits in flight at once")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *count <= 0 || *prefix == "" {
			return nil, errors.New("--count and --id-prefix are required")
		}
		ends := make([]map[string]any, *count)
		forEach(*count, *parallel, func(i int) {
			id := fmt.Sprintf("%s-%d", *prefix, i)
			run := ""
			for {
				ev, err := closeEvent(ctx, c, id, run)
				if err != nil {
					if ctx.Err() != nil {
						ends[i] = map[string]any{"status": "OPEN"}
					} else {
						ends[i] = map[string]any{"status": "ERROR", "error": errText(err)}
					}
					break
				}
				out, next := describeClose(ev)
				if next != "" {
					run = next
					continue
				}
				ends[i] = out
				break
			}
			ends[i]["workflow_id"] = id
		})
		byStatus := map[string]int{}
		for _, e := range ends {
			byStatus[e["status"].(string)]++
		}
		return map[string]any{"count": *count, "by_status": byStatus, "workflows": ends}, nil
	}
}

func cmdOpenWorkflows(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	query := fs.String("query", "", "more visibility conditions, ANDed (e.g. WorkflowType='Chaos')")
	limit := fs.Int("limit", 100, "most ids listed")
	return func(ctx context.Context, c client.Client) (any, error) {
		q := "ExecutionStatus='Running'"
		if *query != "" {
			q += " AND (" + *query + ")"
		}
		n, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: g.namespace, Query: q})
		if err != nil {
			return nil, err
		}
		ids := []string{}
		r, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: g.namespace, Query: q, PageSize: int32(*limit),
		})
		if err != nil {
			return nil, err
		}
		for _, e := range r.Executions {
			if len(ids) < *limit {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
		}
		return map[string]any{"count": n.Count, "workflow_ids": ids}, nil
	}
}

func cmdSignal(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	name := fs.String("name", "", "signal name (required)")
	var inputs multiFlag
	fs.Var(&inputs, "input", "JSON argument (repeatable, in order)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *name == "" {
			return nil, errors.New("--id and --name are required")
		}
		payloads, err := jsonPayloads(inputs)
		if err != nil {
			return nil, err
		}
		_, err = c.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
			Namespace:         g.namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			SignalName:        *name,
			Input:             payloads,
			Identity:          identity,
			RequestId:         newRequestID(),
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": *id, "run_id": *runID, "signal": *name}, nil
	}
}

func cmdQuery(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	name := fs.String("name", "", "query type (required)")
	var inputs multiFlag
	fs.Var(&inputs, "input", "JSON argument (repeatable, in order)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *name == "" {
			return nil, errors.New("--id and --name are required")
		}
		payloads, err := jsonPayloads(inputs)
		if err != nil {
			return nil, err
		}
		r, err := c.WorkflowService().QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{
			Namespace: g.namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			Query:     &querypb.WorkflowQuery{QueryType: *name, QueryArgs: payloads},
		})
		if err != nil {
			return nil, err
		}
		if r.QueryRejected != nil {
			return nil, fmt.Errorf("query rejected, workflow status %s", statusName(r.QueryRejected.Status))
		}
		return map[string]any{"result": payloadsJSON(r.QueryResult)}, nil
	}
}

func cmdAwait(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	noFollow := fs.Bool("no-follow", false, "report the given run's end, not the end of the chain of runs")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		run := *runID
		for {
			ev, err := closeEvent(ctx, c, *id, run)
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("workflow %s still open after %v", *id, g.timeout)
				}
				return nil, err
			}
			out, next := describeClose(ev)
			if next != "" && !*noFollow {
				run = next
				continue
			}
			out["workflow_id"] = *id
			if run != "" {
				out["run_id"] = run
			} else if d, err := c.DescribeWorkflowExecution(ctx, *id, ""); err == nil {
				out["run_id"] = d.WorkflowExecutionInfo.Execution.RunId
			}
			return out, nil
		}
	}
}

func cmdDescribe(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
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
		info := d.WorkflowExecutionInfo
		out := map[string]any{
			"workflow_id":           info.GetExecution().GetWorkflowId(),
			"run_id":                info.GetExecution().GetRunId(),
			"type":                  info.GetType().GetName(),
			"status":                statusName(info.Status),
			"history_length":        info.HistoryLength,
			"task_queue":            info.TaskQueue,
			"start_time":            timeJSON(info.StartTime),
			"close_time":            timeJSON(info.CloseTime),
			"pending_activities":    len(d.PendingActivities),
			"versioning_info":       protoJSON(info.VersioningInfo),
			"pending_workflow_task": protoJSON(d.PendingWorkflowTask),
		}
		return out, nil
	}
}

func cmdHistory(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	outFile := fs.String("out", "", "write the history (indented JSON) to this file and print a summary")
	binFile := fs.String("out-binary", "", "write the history as a serialised temporal.api.history.v1.History (for replay tests)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		hist := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, *id, *runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			hist.Events = append(hist.Events, e)
		}
		if *binFile != "" {
			raw, err := proto.Marshal(hist)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(*binFile, raw, 0o644); err != nil {
				return nil, err
			}
		}
		b, err := protojson.Marshal(hist)
		if err != nil {
			return nil, err
		}
		if *outFile == "" && *binFile != "" {
			return map[string]any{"workflow_id": *id, "events": len(hist.Events), "file": *binFile}, nil
		}
		if *outFile == "" {
			return json.RawMessage(b), nil
		}
		var ind strings.Builder
		if err := jsonIndent(&ind, b); err != nil {
			return nil, err
		}
		if err := os.WriteFile(*outFile, []byte(ind.String()), 0o644); err != nil {
			return nil, err
		}
		out := map[string]any{"workflow_id": *id, "events": len(hist.Events), "file": *outFile}
		if len(hist.Events) > 0 {
			out["last_event_type"] = enumName(hist.Events[len(hist.Events)-1].EventType, "EVENT_TYPE_")
		}
		return out, nil
	}
}

func cmdTerminate(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	reason := fs.String("reason", "tw-driver terminate", "reason")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		if err := c.TerminateWorkflow(ctx, *id, *runID, *reason); err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": *id, "run_id": *runID, "terminated": true}, nil
	}
}

func cmdReset(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	eventID := fs.Int64("event-id", 0, "the WorkflowTaskCompleted event to reset to (default: the first one)")
	reason := fs.String("reason", "tw-driver reset", "reason")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--id is required")
		}
		target := *eventID
		if target == 0 {
			it := c.GetWorkflowHistory(ctx, *id, *runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for target == 0 && it.HasNext() {
				e, err := it.Next()
				if err != nil {
					return nil, err
				}
				if e.EventType == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					target = e.EventId
				}
			}
			if target == 0 {
				return nil, fmt.Errorf("workflow %s has no completed workflow task to reset to", *id)
			}
		}
		r, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
			Namespace:                 g.namespace,
			WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: *id, RunId: *runID},
			Reason:                    *reason,
			WorkflowTaskFinishEventId: target,
			RequestId:                 newRequestID(),
			Identity:                  identity,
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": *id, "run_id": r.RunId, "reset_event_id": target}, nil
	}
}
