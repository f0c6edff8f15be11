// Command tw-driver is the tests' independent Temporal client, on the official Go SDK
// (go.temporal.io/sdk, with raw WorkflowService calls from go.temporal.io/api where the SDK has
// no helper): it starts, signals, queries, awaits, resets and terminates workflows, reads
// histories and task queues, and sets up Worker Deployments whose versions carry a compute
// config for serverless workers.
//
// Usage: tw-driver [global flags] COMMAND [command flags]
// Every command prints one JSON object on stdout when it succeeds; otherwise a message on
// stderr and exit status 1. Workflow arguments are JSON, sent as json/plain payloads (the SDK
// default); results decode the same way.
package main

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	computepb "go.temporal.io/api/compute/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	querypb "go.temporal.io/api/query/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const identity = "tw-driver"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type globals struct {
	address    string
	namespace  string
	tlsCA      string
	tlsCert    string
	tlsKey     string
	serverName string
	timeout    time.Duration
}

var g globals

type command struct {
	name  string
	help  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, c client.Client) (any, error)
}

var commands = []command{
	{"system-info", "server version and capabilities", cmdSystemInfo},
	{"start", "start a workflow", cmdStart},
	{"start-many", "start workflows PREFIX-0 .. PREFIX-(N-1) (load and chaos runs)", cmdStartMany},
	{"await-many", "wait until workflows PREFIX-0 .. PREFIX-(N-1) close; each one's end", cmdAwaitMany},
	{"open-workflows", "count the workflows still running (visibility), with some of their ids", cmdOpenWorkflows},
	{"signal", "signal a workflow", cmdSignal},
	{"query", "query a workflow", cmdQuery},
	{"await", "wait until a workflow closes (following continue-as-new and retries)", cmdAwait},
	{"describe", "status and history length of a workflow", cmdDescribe},
	{"history", "a workflow's full history as JSON (protojson), on stdout or to --out", cmdHistory},
	{"terminate", "terminate a workflow", cmdTerminate},
	{"reset", "reset a workflow to a completed workflow task (a new run replays up to it)", cmdReset},
	{"describe-task-queue", "pollers and stats of a task queue", cmdDescribeTaskQueue},
	{"create-deployment", "create a Worker Deployment", cmdCreateDeployment},
	{"describe-deployment", "describe a Worker Deployment", cmdDescribeDeployment},
	{"create-version", "create a Worker Deployment Version, with an AWS Lambda compute config", cmdCreateVersion},
	{"set-current", "make a Worker Deployment Version current", cmdSetCurrent},
	{"describe-version", "describe a Worker Deployment Version", cmdDescribeVersion},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tw-driver [global flags] COMMAND [command flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-20s %s\n", c.name, c.help)
	}
	fmt.Fprintln(os.Stderr, "\nglobal flags:")
	flag.PrintDefaults()
	fmt.Fprintln(os.Stderr, "\n`tw-driver COMMAND -h` lists a command's flags.")
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tw-driver: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	flag.StringVar(&g.address, "address", "127.0.0.1:7233", "Temporal frontend host:port")
	flag.StringVar(&g.namespace, "namespace", "default", "namespace")
	flag.StringVar(&g.tlsCA, "tls-ca", "", "CA certificate (PEM) to verify the server with; turns TLS on")
	flag.StringVar(&g.tlsCert, "tls-cert", "", "client certificate (PEM) for mTLS; turns TLS on")
	flag.StringVar(&g.tlsKey, "tls-key", "", "key of --tls-cert (PEM)")
	flag.StringVar(&g.serverName, "tls-server-name", "", "name to verify the server certificate against; turns TLS on")
	flag.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline of the whole command")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() < 1 {
		usage()
		os.Exit(1)
	}
	if (g.tlsCert == "") != (g.tlsKey == "") {
		die("--tls-cert and --tls-key go together")
	}
	name := flag.Arg(0)
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		usage()
		die("unknown command %q", name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	runCmd := cmd.flags(fs)
	if err := fs.Parse(flag.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		die("%s: %v", name, err)
	}
	if fs.NArg() > 0 {
		die("%s: unexpected argument %q", name, fs.Arg(0))
	}

	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		die("connect %s: %s", g.address, errText(err))
	}
	defer c.Close()
	out, err := runCmd(ctx, c)
	if err != nil {
		die("%s: %s", name, errText(err))
	}
	b, err := json.Marshal(out)
	if err != nil {
		die("%s: encoding the answer: %v", name, err)
	}
	fmt.Println(string(b))
}

// errText is the error's text, with the gRPC status code when there is one.
func errText(err error) string {
	if s, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (grpc status %s)", s.Message(), s.Code())
	}
	var se interface{ Status() *status.Status } // go.temporal.io/api/serviceerror
	if errors.As(err, &se) && se.Status() != nil {
		return fmt.Sprintf("%s (grpc status %s)", err.Error(), se.Status().Code())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within --timeout %v", g.timeout)
	}
	return err.Error()
}

func dial(ctx context.Context) (client.Client, error) {
	opts := client.Options{
		HostPort:  g.address,
		Namespace: g.namespace,
		Identity:  fmt.Sprintf("%s-%d", identity, os.Getpid()),
		Logger:    stderrLogger{},
	}
	if g.tlsCA != "" || g.tlsCert != "" || g.serverName != "" {
		tc := &tls.Config{ServerName: g.serverName, MinVersion: tls.VersionTLS12}
		if g.tlsCA != "" {
			pem, err := os.ReadFile(g.tlsCA)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", g.tlsCA)
			}
		}
		if g.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(g.tlsCert, g.tlsKey)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts.ConnectionOptions.TLS = tc
	}
	return client.DialContext(ctx, opts)
}

// ---- commands ------------------------------------------------------------------------------

func cmdSystemInfo(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	return func(ctx context.Context, c client.Client) (any, error) {
		r, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"server_version": r.ServerVersion, "capabilities": protoJSON(r.Capabilities)}, nil
	}
}

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

func cmdDescribeTaskQueue(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	queue := fs.String("task-queue", "", "task queue (required)")
	kind := fs.String("type", "workflow", "task queue type: workflow or activity")
	fs.StringVar(kind, "kind", "workflow", "same as --type")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *queue == "" {
			return nil, errors.New("--task-queue is required")
		}
		var tqType enumspb.TaskQueueType
		switch *kind {
		case "workflow":
			tqType = enumspb.TASK_QUEUE_TYPE_WORKFLOW
		case "activity":
			tqType = enumspb.TASK_QUEUE_TYPE_ACTIVITY
		default:
			return nil, fmt.Errorf("--type wants workflow or activity, got %q", *kind)
		}
		r, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace:     g.namespace,
			TaskQueue:     &taskqueuepb.TaskQueue{Name: *queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: tqType,
			ReportStats:   true,
		})
		if err != nil {
			return nil, err
		}
		pollers := []map[string]any{}
		for _, p := range r.Pollers {
			pollers = append(pollers, map[string]any{
				"identity":           p.Identity,
				"last_access_time":   timeJSON(p.LastAccessTime),
				"rate_per_second":    p.RatePerSecond,
				"deployment_options": protoJSON(p.DeploymentOptions),
			})
		}
		return map[string]any{
			"task_queue":      *queue,
			"type":            *kind,
			"pollers":         pollers,
			"stats":           protoJSON(r.Stats),
			"versioning_info": protoJSON(r.VersioningInfo),
		}, nil
	}
}

func cmdCreateDeployment(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	name := fs.String("name", "", "deployment name (required)")
	fs.StringVar(name, "deployment", "", "same as --name")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *name == "" {
			return nil, errors.New("--name is required")
		}
		_, err := c.WorkflowService().CreateWorkerDeployment(ctx, &workflowservice.CreateWorkerDeploymentRequest{
			Namespace: g.namespace, DeploymentName: *name, Identity: identity, RequestId: newRequestID(),
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"deployment": *name}, nil
	}
}

func cmdDescribeDeployment(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	name := fs.String("name", "", "deployment name (required)")
	fs.StringVar(name, "deployment", "", "same as --name")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *name == "" {
			return nil, errors.New("--name is required")
		}
		r, err := c.WorkflowService().DescribeWorkerDeployment(ctx, &workflowservice.DescribeWorkerDeploymentRequest{
			Namespace: g.namespace, DeploymentName: *name,
		})
		if err != nil {
			return nil, err
		}
		return protoJSON(r), nil
	}
}

func cmdCreateVersion(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	deployment := fs.String("deployment", "", "deployment name (required)")
	buildID := fs.String("build-id", "", "build id (required)")
	arn := fs.String("lambda-arn", "", "AWS Lambda function ARN: adds a compute config (scaling group \"default\")")
	role := fs.String("lambda-role", "", "IAM role the Worker Controller assumes to invoke the function")
	externalID := fs.String("lambda-external-id", "", "external id for --lambda-role")
	scaler := fs.String("scaler", "no-sync", "scaler type of the compute config")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *deployment == "" || *buildID == "" {
			return nil, errors.New("--deployment and --build-id are required")
		}
		req := &workflowservice.CreateWorkerDeploymentVersionRequest{
			Namespace:         g.namespace,
			DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: *deployment, BuildId: *buildID},
			Identity:          identity,
			RequestId:         newRequestID(),
		}
		if *arn != "" {
			details := map[string]string{"arn": *arn}
			if *role != "" {
				details["role"] = *role
			}
			if *externalID != "" {
				details["role_external_id"] = *externalID
			}
			p, err := converter.GetDefaultDataConverter().ToPayload(details) // json/plain
			if err != nil {
				return nil, err
			}
			req.ComputeConfig = &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
				"default": {
					Provider: &computepb.ComputeProvider{Type: "aws-lambda", Details: p},
					Scaler:   &computepb.ComputeScaler{Type: *scaler},
				},
			}}
		} else if *role != "" || *externalID != "" {
			return nil, errors.New("--lambda-role and --lambda-external-id need --lambda-arn")
		}
		if _, err := c.WorkflowService().CreateWorkerDeploymentVersion(ctx, req); err != nil {
			return nil, err
		}
		return map[string]any{
			"deployment":     *deployment,
			"build_id":       *buildID,
			"compute_config": protoJSON(req.ComputeConfig),
		}, nil
	}
}

func cmdSetCurrent(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	deployment := fs.String("deployment", "", "deployment name (required)")
	buildID := fs.String("build-id", "", "build id (empty: unversioned)")
	allowNoPollers := fs.Bool("allow-no-pollers", true, "allow a version no worker has polled yet")
	ignoreMissing := fs.Bool("ignore-missing-task-queues", true, "allow task queues of the old current version to be missing")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *deployment == "" {
			return nil, errors.New("--deployment is required")
		}
		r, err := c.WorkflowService().SetWorkerDeploymentCurrentVersion(ctx, &workflowservice.SetWorkerDeploymentCurrentVersionRequest{
			Namespace: g.namespace, DeploymentName: *deployment, BuildId: *buildID,
			Identity: identity, AllowNoPollers: *allowNoPollers, IgnoreMissingTaskQueues: *ignoreMissing,
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{
			"deployment":       *deployment,
			"build_id":         *buildID,
			"previous_version": protoJSON(r.PreviousDeploymentVersion),
		}, nil
	}
}

func cmdDescribeVersion(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	deployment := fs.String("deployment", "", "deployment name (required)")
	buildID := fs.String("build-id", "", "build id (required)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *deployment == "" || *buildID == "" {
			return nil, errors.New("--deployment and --build-id are required")
		}
		r, err := c.WorkflowService().DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{
			Namespace:         g.namespace,
			DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: *deployment, BuildId: *buildID},
		})
		if err != nil {
			return nil, err
		}
		return protoJSON(r), nil
	}
}

// ---- workflow ends ---------------------------------------------------------------------------

// closeEvent long-polls the history of one run for its close event.
func closeEvent(ctx context.Context, c client.Client, id, runID string) (*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		if ev != nil {
			return ev, nil
		}
	}
	return nil, errors.New("history ended without a close event")
}

// describeClose turns a close event into the answer of `await`, and gives the id of the run
// that follows it (continue-as-new, retry, cron), if any.
func describeClose(ev *historypb.HistoryEvent) (map[string]any, string) {
	switch ev.EventType {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		a := ev.GetWorkflowExecutionCompletedEventAttributes()
		return map[string]any{"status": "COMPLETED", "result": payloadsJSON(a.Result)}, a.NewExecutionRunId
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		a := ev.GetWorkflowExecutionFailedEventAttributes()
		return map[string]any{"status": "FAILED", "failure": failureJSON(a.Failure),
			"retry_state": enumName(a.RetryState, "RETRY_STATE_")}, a.NewExecutionRunId
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		a := ev.GetWorkflowExecutionTimedOutEventAttributes()
		return map[string]any{"status": "TIMED_OUT",
			"retry_state": enumName(a.RetryState, "RETRY_STATE_")}, a.NewExecutionRunId
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		a := ev.GetWorkflowExecutionTerminatedEventAttributes()
		return map[string]any{"status": "TERMINATED", "reason": a.Reason, "details": payloadsJSON(a.Details)}, ""
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		a := ev.GetWorkflowExecutionCanceledEventAttributes()
		return map[string]any{"status": "CANCELED", "details": payloadsJSON(a.Details)}, ""
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes()
		return map[string]any{"status": "CONTINUED_AS_NEW", "new_run_id": a.NewExecutionRunId}, a.NewExecutionRunId
	}
	return map[string]any{"status": enumName(ev.EventType, "EVENT_TYPE_")}, ""
}

// failureJSON flattens a Failure: message, source, stack_trace, kind, the fields of its kind
// (type and non_retryable for an application failure), and its cause, the same way.
func failureJSON(f *failurepb.Failure) map[string]any {
	if f == nil {
		return nil
	}
	out := map[string]any{"message": f.Message, "source": f.Source, "stack_trace": f.StackTrace}
	switch {
	case f.GetApplicationFailureInfo() != nil:
		i := f.GetApplicationFailureInfo()
		out["kind"] = "application"
		out["type"] = i.Type
		out["non_retryable"] = i.NonRetryable
		out["details"] = payloadsJSON(i.Details)
	case f.GetTimeoutFailureInfo() != nil:
		out["kind"] = "timeout"
		out["timeout_type"] = enumName(f.GetTimeoutFailureInfo().TimeoutType, "TIMEOUT_TYPE_")
	case f.GetCanceledFailureInfo() != nil:
		out["kind"] = "canceled"
		out["details"] = payloadsJSON(f.GetCanceledFailureInfo().Details)
	case f.GetTerminatedFailureInfo() != nil:
		out["kind"] = "terminated"
	case f.GetServerFailureInfo() != nil:
		out["kind"] = "server"
		out["non_retryable"] = f.GetServerFailureInfo().NonRetryable
	case f.GetActivityFailureInfo() != nil:
		i := f.GetActivityFailureInfo()
		out["kind"] = "activity"
		out["activity_type"] = i.GetActivityType().GetName()
		out["activity_id"] = i.ActivityId
		out["retry_state"] = enumName(i.RetryState, "RETRY_STATE_")
	case f.GetChildWorkflowExecutionFailureInfo() != nil:
		i := f.GetChildWorkflowExecutionFailureInfo()
		out["kind"] = "child_workflow"
		out["workflow_type"] = i.GetWorkflowType().GetName()
		out["retry_state"] = enumName(i.RetryState, "RETRY_STATE_")
	}
	if f.Cause != nil {
		out["cause"] = failureJSON(f.Cause)
	}
	return out
}

// ---- payloads and JSON -----------------------------------------------------------------------

func jsonArgs(inputs []string) ([]any, error) {
	var out []any
	for _, in := range inputs {
		if !json.Valid([]byte(in)) {
			return nil, fmt.Errorf("--input %q is not JSON", in)
		}
		out = append(out, json.RawMessage(in)) // sent as is, as json/plain
	}
	return out, nil
}

func jsonPayloads(inputs []string) (*commonpb.Payloads, error) {
	args, err := jsonArgs(inputs)
	if err != nil || len(args) == 0 {
		return nil, err
	}
	return converter.GetDefaultDataConverter().ToPayloads(args...)
}

// payloadsJSON: null for no payload, the value of a single payload, an array for several.
func payloadsJSON(p *commonpb.Payloads) any {
	if p == nil || len(p.Payloads) == 0 {
		return nil
	}
	if len(p.Payloads) == 1 {
		return payloadJSON(p.Payloads[0])
	}
	var out []any
	for _, x := range p.Payloads {
		out = append(out, payloadJSON(x))
	}
	return out
}

func payloadJSON(p *commonpb.Payload) any {
	enc := string(p.Metadata["encoding"])
	switch enc {
	case "binary/null":
		return nil
	case "json/plain", "json/protobuf":
		if json.Valid(p.Data) {
			return json.RawMessage(p.Data)
		}
	}
	return map[string]any{"encoding": enc, "data_base64": base64.StdEncoding.EncodeToString(p.Data)}
}

func protoJSON(m proto.Message) any {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	return json.RawMessage(b)
}

func jsonIndent(w io.Writer, b []byte) error {
	var v json.RawMessage = b
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

func timeJSON(t interface{ AsTime() time.Time }) any {
	if t == nil {
		return nil
	}
	if v, ok := t.(interface{ IsValid() bool }); ok && !v.IsValid() {
		return nil
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	return enumName(s, "WORKFLOW_EXECUTION_STATUS_")
}

// enumName is the proto name of an enum value less its prefix: RUNNING, TIMED_OUT, ... (the
// String() of Temporal's Go enums gives CamelCase instead).
func enumName(e protoreflect.Enum, prefix string) string {
	v := e.Descriptor().Values().ByNumber(e.Number())
	if v == nil {
		return fmt.Sprint(e.Number())
	}
	return strings.TrimPrefix(string(v.Name()), prefix)
}

func newRequestID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stderrLogger keeps the SDK's own logs off stdout, which carries the JSON answer.
type stderrLogger struct{}

func (stderrLogger) Debug(string, ...any) {}
func (stderrLogger) Info(string, ...any)  {}
func (stderrLogger) Warn(msg string, kv ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"tw-driver: sdk warn:", msg}, kv...)...)
}
func (stderrLogger) Error(msg string, kv ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"tw-driver: sdk error:", msg}, kv...)...)
}
