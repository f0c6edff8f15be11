// Checks of the deployment versioning scenarios (tests/features/deployment_versioning/). They
// need two versions of the worker at once: tests/integration/test_versioning.c makes a
// deployment with versions b1 (current) and b2, serves each with a function of its own, invokes
// b2's itself and gives b1's to the check (--invoke). The check finds the deployment from the
// task queue (its current version) and moves the current or ramping version as the Go scenario
// does. "WaitForSignal" answers "<signal>_<build id of the worker that ran it>";
// "ContinueAsNewWithVersionUpgrade" answers "v2.0" on b2.

package main

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

func init() {
	register(
		scenario{"deployment_versioning/routing_pinned", "a pinned workflow stays on its version when another becomes current", checkRoutingPinned},
		scenario{"deployment_versioning/routing_auto_upgrade", "an auto-upgrade workflow moves to the new current version", checkRoutingAutoUpgrade},
		scenario{"deployment_versioning/routing_with_override", "a versioning override pins a workflow to a version that is not current", checkRoutingWithOverride},
		scenario{"deployment_versioning/routing_with_ramp", "an auto-upgrade workflow moves to a version ramping at 100%", checkRoutingWithRamp},
		scenario{"deployment_versioning/upgrade_on_continue_as_new", "a pinned workflow told its target version changed continues as new onto it", checkUpgradeOnContinueAsNew},
	)
}

// versioning is the task queue's versioning info (nil when it has none yet).
func (r *frun) versioning(ctx context.Context) *taskqueuepb.TaskQueueVersioningInfo {
	d, err := r.c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     g.namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: r.queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	})
	if err != nil {
		return nil
	}
	return d.GetVersioningInfo()
}

// deployment is the name of the deployment whose current version the task queue has (b1).
func (r *frun) deployment(ctx context.Context) string {
	var name string
	r.eventually(ctx, "the task queue's current deployment version", 20*time.Second, func() bool {
		name = r.versioning(ctx).GetCurrentDeploymentVersion().GetDeploymentName()
		return name != ""
	})
	return name
}

// propagated waits until the task queue routes by the new current (or ramping) version, as
// the Go scenarios wait for the routing config's propagation.
func (r *frun) propagated(ctx context.Context, what string, ok func(*taskqueuepb.TaskQueueVersioningInfo) bool) {
	r.eventually(ctx, what+" on the task queue", 20*time.Second, func() bool { return ok(r.versioning(ctx)) })
}

func (r *frun) setCurrent(ctx context.Context, deployment, buildID string) {
	_, err := r.c.WorkflowService().SetWorkerDeploymentCurrentVersion(ctx, &workflowservice.SetWorkerDeploymentCurrentVersionRequest{
		Namespace: g.namespace, DeploymentName: deployment, BuildId: buildID, Identity: identity,
		AllowNoPollers: true, IgnoreMissingTaskQueues: true,
	})
	r.noErr(err, "setting the current version to "+buildID)
	r.propagated(ctx, "current version "+buildID, func(v *taskqueuepb.TaskQueueVersioningInfo) bool {
		return v.GetCurrentDeploymentVersion().GetBuildId() == buildID
	})
}

// routedWait starts WaitForSignal (|mutate| may change the options), waits until its first
// workflow task completed (on the version it went to), runs |between|, sends "start-signal"
// and requires the answer |want|.
func (r *frun) routedWait(ctx context.Context, mutate func(*client.StartWorkflowOptions), between func(), want string) {
	run := r.start(ctx, "WaitForSignal", mutate)
	r.waitEvent(ctx, run, "the first workflow task completed", 30*time.Second,
		isType(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
	if between != nil {
		between()
	}
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "start-signal", "prefix"), "signal")
	var got string
	r.succeeds(ctx, run, &got)
	r.equal(want, got, "result (the version that ran the last task)")
}

func checkRoutingPinned(ctx context.Context, r *frun) {
	dep := r.deployment(ctx)
	r.routedWait(ctx, nil, func() { r.setCurrent(ctx, dep, "b2") }, "prefix_b1")
}

// retireB1 stops invoking b1 and waits until its invocation under way has ended (its stop gives
// its sticky queue back), so the next task is routed by the task queue's versions. With b1
// still polling, whether the server hands an auto-upgrade workflow's next task to b1's sticky
// queue right after the routing change depends on how fast the change reaches the history
// service (on this machine: 3 runs in 5 went to b1); the worker has no say in it.
func (r *frun) retireB1() { r.worker.stop() }

func checkRoutingAutoUpgrade(ctx context.Context, r *frun) {
	dep := r.deployment(ctx)
	r.routedWait(ctx, nil, func() { r.setCurrent(ctx, dep, "b2"); r.retireB1() }, "prefix_b2")
}

func checkRoutingWithOverride(ctx context.Context, r *frun) {
	dep := r.deployment(ctx)
	r.setCurrent(ctx, dep, "b2")
	r.routedWait(ctx, func(o *client.StartWorkflowOptions) {
		o.VersioningOverride = &client.PinnedVersioningOverride{
			Version: worker.WorkerDeploymentVersion{DeploymentName: dep, BuildID: "b1"}}
	}, nil, "prefix_b1")
}

func checkRoutingWithRamp(ctx context.Context, r *frun) {
	dep := r.deployment(ctx)
	r.routedWait(ctx, nil, func() {
		_, err := r.c.WorkflowService().SetWorkerDeploymentRampingVersion(ctx, &workflowservice.SetWorkerDeploymentRampingVersionRequest{
			Namespace: g.namespace, DeploymentName: dep, BuildId: "b2", Percentage: 100, Identity: identity,
			AllowNoPollers: true, IgnoreMissingTaskQueues: true,
		})
		r.noErr(err, "ramping b2 at 100%")
		r.propagated(ctx, "ramping version b2", func(v *taskqueuepb.TaskQueueVersioningInfo) bool {
			return v.GetRampingDeploymentVersion().GetBuildId() == "b2" && v.GetRampingVersionPercentage() == 100
		})
		r.retireB1()
	}, "prefix_b2")
}

// checkUpgradeOnContinueAsNew starts the pinned ContinueAsNewWithVersionUpgrade(0) on b1, waits
// for its first workflow task, makes b2 current and expects "v2.0" (only b2 answers that): the
// first run, told at a later task that its target version changed, continued as new with
// AUTO_UPGRADE. Beyond the Go scenario: the first run's history has that task (its started
// event says so) and ends continued as new.
func checkUpgradeOnContinueAsNew(ctx context.Context, r *frun) {
	dep := r.deployment(ctx)
	run := r.start(ctx, "ContinueAsNewWithVersionUpgrade", nil, 0)
	first := run.GetRunID() // the run's id moves to the new run once Get follows it
	r.waitEvent(ctx, run, "the first workflow task completed", 30*time.Second,
		isType(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
	r.setCurrent(ctx, dep, "b2")
	var got string
	r.succeeds(ctx, run, &got)
	r.equal("v2.0", got, "result (the new run ran on b2)")
	evs := r.eventsOf(ctx, run.GetID(), first)
	told := false
	for _, e := range evs {
		told = told || e.GetWorkflowTaskStartedEventAttributes().GetTargetWorkerDeploymentVersionChanged()
	}
	r.require(told, "no WorkflowTaskStarted of the first run says target_worker_deployment_version_changed")
	r.require(count(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) == 1,
		"the first run did not end continued as new")
}
