// The benchmark's workflows and activities in Go, the same names, inputs and results as the C
// libraries: "Greet" and "ComposeGreeting" (examples/hello/worker.c), "Steps" and "Step"
// (bench/steps/worker.c). All pinned, as the C libraries register them.
package main

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func registerAll(o *options) {
	pinned := workflow.RegisterOptions{VersioningBehavior: workflow.VersioningBehaviorPinned}
	o.register(func(r worker.Registry) {
		po := pinned
		po.Name = "Greet"
		r.RegisterWorkflowWithOptions(greet, po)
		po.Name = "Steps"
		r.RegisterWorkflowWithOptions(steps, po)
		r.RegisterActivityWithOptions(composeGreeting, activity.RegisterOptions{Name: "ComposeGreeting"})
		r.RegisterActivityWithOptions(step, activity.RegisterOptions{Name: "Step"})
	})
}

func activityContext(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
}

// greet runs ComposeGreeting on its name ("World" when none).
func greet(ctx workflow.Context, name *string) (string, error) {
	n := "World"
	if name != nil {
		n = *name
	}
	var out string
	if err := workflow.ExecuteActivity(activityContext(ctx), "ComposeGreeting", n).Get(ctx, &out); err != nil {
		return "", temporal.NewApplicationError(err.Error(), "GreetingFailed")
	}
	return out, nil
}

func composeGreeting(name string) (string, error) { return "Hello, " + name + "!", nil }

// steps runs n Step activities one after the other, then sleeps one second; returns the sum
// of their results (0 + 1 + ... + n-1).
func steps(ctx workflow.Context, n int) (int, error) {
	actx := activityContext(ctx)
	sum := 0
	for i := 0; i < n; i++ {
		var r int
		if err := workflow.ExecuteActivity(actx, "Step", i).Get(ctx, &r); err != nil {
			return 0, err
		}
		sum += r
	}
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return 0, err
	}
	return sum, nil
}

func step(i int) (int, error) { return i, nil }
