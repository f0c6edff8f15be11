// Commands about the server and Worker Deployments: system info, task queues, deployments and
// their versions (with the AWS Lambda compute config of serverless workers).

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	computepb "go.temporal.io/api/compute/v1"
	deploymentpb "go.temporal.io/api/deployment/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

func cmdSystemInfo(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	return func(ctx context.Context, c client.Client) (any, error) {
		r, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"server_version": r.ServerVersion, "capabilities": protoJSON(r.Capabilities)}, nil
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
