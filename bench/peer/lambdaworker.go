// The Lambda lifecycle of the Go helper, with its defaults (lambdaworker v0.1.x, read in sdk-go's
// contrib/aws/lambdaworker): per invocation a fresh client and worker; 2 workflow-task pollers,
// 1 activity-task poller, 1 Nexus poller; 10 workflow-task slots, 2 activity slots, 2 local
// activity slots, 5 Nexus slots; eager activities off; a sticky cache of 100 workflows (the Go
// SDK's cache is per process); worker stop timeout 5 s; shutdown starts at the deadline less
// (stop timeout + 2 s); Worker Deployment Versioning always on; a JSON slog logger on stderr.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

const (
	activitySlots      = 2
	workflowTaskSlots  = 10
	localActivitySlots = 2
	nexusSlots         = 5
	activityPollers    = 1
	workflowPollers    = 2
	nexusPollers       = 1
	stopTimeout        = 5 * time.Second
	hookBuffer         = 2 * time.Second // time kept after the stop for shutdown hooks
	stickyCacheSize    = 100
)

// options is what the configure callback sees: the helper's public fields and its registration
// calls, kept until each invocation's worker exists.
type options struct {
	TaskQueue      string
	ClientOptions  client.Options
	WorkerOptions  worker.Options
	ShutdownBuffer time.Duration
	registrations  []func(worker.Registry)
}

func (o *options) register(f func(worker.Registry)) { o.registrations = append(o.registrations, f) }

// clientOptions reads the connection the way Temporal's environment configuration does for
// the two variables the benchmark sets.
func clientOptions() client.Options {
	o := client.Options{HostPort: os.Getenv("TEMPORAL_ADDRESS"), Namespace: os.Getenv("TEMPORAL_NAMESPACE")}
	if o.HostPort == "" {
		o.HostPort = client.DefaultHostPort
	}
	if o.Namespace == "" {
		o.Namespace = client.DefaultNamespace
	}
	o.Logger = log.NewStructuredLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	return o
}

func workerOptions(version worker.WorkerDeploymentVersion) worker.Options {
	var w worker.Options
	w.MaxConcurrentActivityExecutionSize = activitySlots
	w.MaxConcurrentWorkflowTaskExecutionSize = workflowTaskSlots
	w.MaxConcurrentLocalActivityExecutionSize = localActivitySlots
	w.MaxConcurrentNexusTaskExecutionSize = nexusSlots
	w.MaxConcurrentActivityTaskPollers = activityPollers
	w.MaxConcurrentWorkflowTaskPollers = workflowPollers
	w.MaxConcurrentNexusTaskPollers = nexusPollers
	w.WorkerStopTimeout = stopTimeout
	w.DisableEagerActivities = true
	w.DeploymentOptions.UseVersioning = true
	w.DeploymentOptions.Version = version
	return w
}

// runWorker configures once (the init phase) and hands the invocation handler to aws-lambda-go,
// which does not return.
func runWorker(version worker.WorkerDeploymentVersion, configure func(*options) error) error {
	if version.DeploymentName == "" || version.BuildID == "" {
		return fmt.Errorf("a deployment version is required")
	}
	worker.SetStickyWorkflowCacheSize(stickyCacheSize)
	o := &options{
		TaskQueue:      os.Getenv("TEMPORAL_TASK_QUEUE"),
		ClientOptions:  clientOptions(),
		WorkerOptions:  workerOptions(version),
		ShutdownBuffer: stopTimeout + hookBuffer,
	}
	if err := configure(o); err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	if o.TaskQueue == "" {
		return fmt.Errorf("no task queue: set TEMPORAL_TASK_QUEUE")
	}
	lambda.StartWithOptions(func(ctx context.Context) error { return invocation(ctx, o) })
	return nil
}

// invocation is one Lambda invocation: a worker from dial to stop.
func invocation(ctx context.Context, o *options) error {
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		work := time.Until(deadline) - o.ShutdownBuffer
		if work <= time.Second {
			return fmt.Errorf("the function timeout leaves %v for work after a shutdown buffer of %v",
				work, o.ShutdownBuffer)
		}
		if work < 5*time.Second {
			o.ClientOptions.Logger.Warn("little time for work after the shutdown buffer",
				"workTime", work, "shutdownBuffer", o.ShutdownBuffer)
		}
	}
	co := o.ClientOptions
	if co.Identity == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			co.Identity = identity(lc.AwsRequestID, lc.InvokedFunctionArn)
		}
	}
	c, err := client.Dial(co)
	if err != nil {
		return fmt.Errorf("dialing Temporal: %w", err)
	}
	defer c.Close()
	w := worker.New(c, o.TaskQueue, o.WorkerOptions)
	for _, r := range o.registrations {
		r(w)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	if hasDeadline {
		if wait := time.Until(deadline.Add(-o.ShutdownBuffer)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	} else {
		<-ctx.Done()
	}
	w.Stop()
	return nil
}

func identity(requestID, arn string) string {
	if requestID == "" {
		requestID = "unknown"
	}
	if arn == "" {
		arn = "unknown"
	}
	return requestID + "@" + arn
}
