// How the driver prints what it reads: workflow ends, failures, payloads as JSON, enum names.

package main

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

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

// jsonText is |v| as compact JSON, for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
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
