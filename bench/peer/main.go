// peer: the benchmark's opponent. A Lambda function (provided.al2023 bootstrap) on the official
// Go SDK and aws-lambda-go that runs a Temporal worker in each invocation the way Temporal's Go
// helper for Lambda (go.temporal.io/sdk/contrib/aws/lambdaworker) does with its default options:
// read once at init, then per invocation dial a client whose identity is
// "<request id>@<function ARN>", start a versioned worker, poll until the deadline less the
// shutdown buffer, stop the worker (waiting up to the stop timeout), close the client.
//
// That module is not served by the Go module proxy, so this is our own code written from its
// documented behaviour and defaults (lambdaworker.go below), not a copy. It registers the same
// workflows and activities as the C libraries the benchmark runs (workflows.go).
//
// Configuration, as the helper's: TEMPORAL_TASK_QUEUE; the deployment version, which the
// helper takes from its caller, from TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID;
// the connection from TEMPORAL_ADDRESS (default localhost:7233) and TEMPORAL_NAMESPACE
// (default "default"), the variables of Temporal's environment configuration that the
// benchmark uses (the helper reads them, and a temporal.toml, through contrib/envconfig).
package main

import (
	"fmt"
	"os"

	"go.temporal.io/sdk/worker"
)

func main() {
	version := worker.WorkerDeploymentVersion{
		DeploymentName: os.Getenv("TEMPORAL_DEPLOYMENT_NAME"),
		BuildID:        os.Getenv("TEMPORAL_WORKER_BUILD_ID"),
	}
	if err := runWorker(version, func(o *options) error {
		registerAll(o)
		return nil
	}); err != nil {
		fmt.Fprintf(os.Stderr, "peer: fatal: %v\n", err)
		os.Exit(1)
	}
}
