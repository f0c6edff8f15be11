// Command tw-driver is the tests' independent Temporal client, on the official Go SDK: it
// starts, signals, queries and awaits workflows, reads histories and task queues, and sets up
// Worker Deployments with a compute config for serverless workers. Every subcommand prints one
// JSON object on stdout; failures print a message on stderr and exit with status 1.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	computepb "go.temporal.io/api/compute/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var (
	address    = flag.String("address", "127.0.0.1:7233", "Temporal frontend host:port")
	namespace  = flag.String("namespace", "default", "namespace")
	tlsCA      = flag.String("tls-ca", "", "CA certificate (PEM) to verify the server; enables TLS")
	tlsCert    = flag.String("tls-cert", "", "client certificate (PEM), mTLS")
	tlsKey     = flag.String("tls-key", "", "client key (PEM), mTLS")
	serverName = flag.String("tls-server-name", "", "server name to verify")
	timeout    = flag.Duration("timeout", 30*time.Second, "deadline of the whole command")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tw-driver [global flags] COMMAND [flags]\ncommands: system-info start signal query await describe history describe-task-queue create-deployment create-version set-current describe-version")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	out, err := run(ctx, flag.Arg(0), flag.Args()[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tw-driver:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func dial() (client.Client, error) {
	opts := client.Options{HostPort: *address, Namespace: *namespace, Logger: quietLogger{}}
	if *tlsCA != "" || *tlsCert != "" {
		tc := &tls.Config{ServerName: *serverName}
		if *tlsCA != "" {
			pem, err := os.ReadFile(*tlsCA)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no certificate", *tlsCA)
			}
		}
		if *tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts.ConnectionOptions.TLS = tc
	}
	return client.Dial(opts)
}

func run(ctx context.Context, cmd string, args []string) (any, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	id := fs.String("id", "", "workflow id")
	runID := fs.String("run-id", "", "run id")
	wfType := fs.String("type", "", "workflow type")
	queue := fs.String("task-queue", "", "task queue")
	name := fs.String("name", "", "signal, query or deployment name")
	kind := fs.String("kind", "workflow", "task queue type: workflow or activity")
	deployment := fs.String("deployment", "", "worker deployment name")
	buildID := fs.String("build-id", "", "build id")
	lambdaARN := fs.String("lambda-arn", "", "AWS Lambda function ARN of the version's compute config")
	outFile := fs.String("out", "", "write to this file")
	execTimeout := fs.Duration("execution-timeout", 0, "workflow execution timeout")
	taskTimeout := fs.Duration("task-timeout", 0, "workflow task timeout")
	var inputs multiFlag
	fs.Var(&inputs, "input", "JSON argument (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	args_, err := jsonArgs(inputs)
	if err != nil {
		return nil, err
	}
	c, err := dial()
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", *address, err)
	}
	defer c.Close()
	ws := c.WorkflowService()

	switch cmd {
	case "system-info":
		r, err := ws.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"server_version": r.ServerVersion, "capabilities": protoMap(r.Capabilities)}, nil
	case "start":
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: *id, TaskQueue: *queue, WorkflowExecutionTimeout: *execTimeout,
			WorkflowTaskTimeout: *taskTimeout,
		}, *wfType, args_...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": run.GetID(), "run_id": run.GetRunID()}, nil
	case "signal":
		var arg any
		if len(args_) > 0 {
			arg = args_[0]
		}
		if err := c.SignalWorkflow(ctx, *id, *runID, *name, arg); err != nil {
			return nil, err
		}
		return map[string]any{"signalled": *name}, nil
	case "query":
		v, err := c.QueryWorkflow(ctx, *id, *runID, *name, args_...)
		if err != nil {
			return nil, err
		}
		var res any
		if err := v.Get(&res); err != nil {
			return nil, err
		}
		return map[string]any{"result": res}, nil
	case "await":
		var res any
		err := c.GetWorkflow(ctx, *id, *runID).Get(ctx, &res)
		if err == nil {
			return map[string]any{"status": "COMPLETED", "result": res}, nil
		}
		return failureJSON(ctx, c, *id, *runID, err)
	case "describe":
		d, err := c.DescribeWorkflowExecution(ctx, *id, *runID)
		if err != nil {
			return nil, err
		}
		info := d.WorkflowExecutionInfo
		return map[string]any{
			"status":         strings.ToUpper(info.Status.String()),
			"history_length": info.HistoryLength,
			"run_id":         info.Execution.RunId,
			"task_queue":     info.TaskQueue,
		}, nil
	case "history":
		var events []json.RawMessage
		it := c.GetWorkflowHistory(ctx, *id, *runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		hist := map[string]any{}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			b, err := protojson.Marshal(e)
			if err != nil {
				return nil, err
			}
			events = append(events, b)
		}
		hist["events"] = events
		if *outFile != "" {
			b, _ := json.MarshalIndent(hist, "", " ")
			if err := os.WriteFile(*outFile, b, 0o644); err != nil {
				return nil, err
			}
			return map[string]any{"events": len(events), "file": *outFile}, nil
		}
		return hist, nil
	case "describe-task-queue":
		tqType := enumspb.TASK_QUEUE_TYPE_WORKFLOW
		if *kind == "activity" {
			tqType = enumspb.TASK_QUEUE_TYPE_ACTIVITY
		}
		r, err := ws.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: *namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: *queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: tqType,
		})
		if err != nil {
			return nil, err
		}
		var pollers []map[string]any
		for _, p := range r.Pollers {
			pollers = append(pollers, map[string]any{"identity": p.Identity, "last_access_time": p.LastAccessTime.AsTime()})
		}
		return map[string]any{"pollers": pollers}, nil
	case "create-deployment":
		_, err := ws.CreateWorkerDeployment(ctx, &workflowservice.CreateWorkerDeploymentRequest{
			Namespace: *namespace, DeploymentName: *deploymentOr(deployment, name), Identity: "tw-driver",
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"deployment": *deploymentOr(deployment, name)}, nil
	case "create-version":
		req := &workflowservice.CreateWorkerDeploymentVersionRequest{
			Namespace:         *namespace,
			DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: *deployment, BuildId: *buildID},
			Identity:          "tw-driver",
		}
		if *lambdaARN != "" {
			details, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"arn": *lambdaARN})
			if err != nil {
				return nil, err
			}
			req.ComputeConfig = &computepb.ComputeConfig{ScalingGroups: map[string]*computepb.ComputeConfigScalingGroup{
				"default": {
					Provider: &computepb.ComputeProvider{Type: "aws-lambda", Details: details},
					Scaler:   &computepb.ComputeScaler{Type: "no-sync"},
				},
			}}
		}
		if _, err := ws.CreateWorkerDeploymentVersion(ctx, req); err != nil {
			return nil, err
		}
		return map[string]any{"deployment": *deployment, "build_id": *buildID}, nil
	case "set-current":
		r, err := ws.SetWorkerDeploymentCurrentVersion(ctx, &workflowservice.SetWorkerDeploymentCurrentVersionRequest{
			Namespace: *namespace, DeploymentName: *deployment, BuildId: *buildID,
			Identity: "tw-driver", AllowNoPollers: true, IgnoreMissingTaskQueues: true,
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"previous": protoMap(r.PreviousDeploymentVersion)}, nil
	case "describe-version":
		r, err := ws.DescribeWorkerDeploymentVersion(ctx, &workflowservice.DescribeWorkerDeploymentVersionRequest{
			Namespace:         *namespace,
			DeploymentVersion: &deploymentpb.WorkerDeploymentVersion{DeploymentName: *deployment, BuildId: *buildID},
		})
		if err != nil {
			return nil, err
		}
		return protoMap(r), nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

func deploymentOr(a, b *string) *string {
	if *a != "" {
		return a
	}
	return b
}

func jsonArgs(inputs []string) ([]any, error) {
	var out []any
	for _, in := range inputs {
		var v any
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			return nil, fmt.Errorf("--input %q is not JSON: %w", in, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// failureJSON describes how a workflow ended when it did not complete.
func failureJSON(ctx context.Context, c client.Client, id, runID string, err error) (any, error) {
	d, derr := c.DescribeWorkflowExecution(ctx, id, runID)
	if derr != nil {
		return nil, err
	}
	status := strings.ToUpper(d.WorkflowExecutionInfo.Status.String())
	if status == "RUNNING" {
		return nil, err // the deadline passed first
	}
	f := map[string]any{"message": err.Error()}
	var we *temporal.WorkflowExecutionError
	if errors.As(err, &we) {
		cause := errors.Unwrap(we)
		var app *temporal.ApplicationError
		if errors.As(cause, &app) {
			f["type"] = app.Type()
			f["message"] = app.Message()
			f["non_retryable"] = app.NonRetryable()
		} else if cause != nil {
			f["message"] = cause.Error()
		}
	}
	return map[string]any{"status": status, "failure": f}, nil
}

func protoMap(m proto.Message) any {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// quietLogger keeps the SDK's own logs off stdout, which carries the JSON answer.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(msg string, kv ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"WARN", msg}, kv...)...)
}
func (quietLogger) Error(msg string, kv ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"ERROR", msg}, kv...)...)
}
