// signal-many: many signals to one workflow from one process (a driver process per signal
// takes tens of milliseconds each), for histories longer than a page.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

func init() {
	commands = append(commands, command{"signal-many",
		"send a workflow COUNT signals of one name (in parallel; their order is the server's)",
		cmdSignalMany})
}

func cmdSignalMany(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("id", "", "workflow id (required)")
	name := fs.String("name", "", "signal name (required)")
	count := fs.Int("count", 0, "how many (required)")
	input := fs.String("input", "", "JSON argument of every signal (none when empty)")
	parallel := fs.Int("parallel", 16, "signals in flight at once")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" || *name == "" || *count <= 0 {
			return nil, errors.New("--id, --name and --count are required")
		}
		var inputs []string
		if *input != "" {
			inputs = []string{*input}
		}
		payloads, err := jsonPayloads(inputs)
		if err != nil {
			return nil, err
		}
		var mu sync.Mutex
		var firstErr error
		forEach(*count, *parallel, func(i int) {
			input := payloads
			if input != nil { // each its own: a codec interceptor (TW_DRIVER_CODEC_KEY) rewrites it
				input = proto.Clone(payloads).(*commonpb.Payloads)
			}
			_, err := c.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
				Namespace:         g.namespace,
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: *id},
				SignalName:        *name,
				Input:             input,
				Identity:          identity,
				RequestId:         newRequestID(),
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("signal %d: %w", i, err)
				}
				mu.Unlock()
			}
		})
		if firstErr != nil {
			return nil, firstErr
		}
		return map[string]any{"workflow_id": *id, "signal": *name, "sent": *count}, nil
	}
}
