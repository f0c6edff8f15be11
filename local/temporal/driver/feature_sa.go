// Checks of the search attribute scenarios (tests/features/search_attributes/): search
// attributes set at the start and upserted by the workflow, and two of ours: the memo and a
// header carried from the client's start to an activity, and markers with the
// TemporalChangeVersion search attribute patches write.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

func init() {
	register(
		scenario{"search_attributes/set", "search attributes set at the start are the workflow's and the description's", checkSASet},
		scenario{"search_attributes/upsert", "typed upserts (and a removal) reach the workflow's reads and the description", checkSAUpsert},
		scenario{"search_attributes/memo_header", "memo read and modified; a header from the client's start reaches an activity", checkSAMemoHeader},
		scenario{"search_attributes/change_version", "side effect, mutable side effect and patch markers; TemporalChangeVersion", checkSAChangeVersion},
	)
}

// The custom search attributes the scenarios use, registered with the namespace when missing
// (the local server starts without them, as a server does).
var saCustom = map[string]enumspb.IndexedValueType{
	"CustomKeywordField":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"CustomTextField":     enumspb.INDEXED_VALUE_TYPE_TEXT,
	"CustomIntField":      enumspb.INDEXED_VALUE_TYPE_INT,
	"CustomDoubleField":   enumspb.INDEXED_VALUE_TYPE_DOUBLE,
	"CustomBoolField":     enumspb.INDEXED_VALUE_TYPE_BOOL,
	"CustomDatetimeField": enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

// saRegister adds the missing ones through the operator service and waits until the namespace
// lists them all. It returns whether it added any: the history service then learns of them a
// few seconds later than the frontend (each service refreshes its namespace cache on its
// own), and a workflow task upserting one before that fails with BAD_SEARCH_ATTRIBUTES and is
// retried (saAllowLag lets the history check accept it).
func (r *frun) saRegister(ctx context.Context) bool {
	os := r.c.OperatorService()
	listed := func() map[string]enumspb.IndexedValueType {
		l, err := os.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: g.namespace})
		r.noErr(err, "ListSearchAttributes")
		return l.CustomAttributes
	}
	have := listed()
	missing := map[string]enumspb.IndexedValueType{}
	for name, t := range saCustom {
		got, ok := have[name]
		if !ok {
			missing[name] = t
			continue
		}
		r.require(got == t, "search attribute %s is registered as %s, the scenarios need %s", name, got, t)
	}
	if len(missing) == 0 {
		return false
	}
	_, err := os.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: g.namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) { // another run added them meanwhile
		r.noErr(err, "AddSearchAttributes")
	}
	r.note("registered %d custom search attributes", len(missing))
	r.eventually(ctx, "the custom search attributes listed", 30*time.Second, func() bool {
		have := listed()
		for name := range saCustom {
			if _, ok := have[name]; !ok {
				return false
			}
		}
		return true
	})
	return true
}

// saAllowLag: when the search attributes were just registered, a failed workflow task of |run|
// whose cause is BAD_SEARCH_ATTRIBUTES (the lag above) is accepted, and counted in the notes.
func (r *frun) saAllowLag(ctx context.Context, run client.WorkflowRun, registered bool) {
	if !registered {
		return
	}
	r.allowTaskFailures(run.GetID(), func(a *historypb.WorkflowTaskFailedEventAttributes) bool {
		return a.Cause == enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
	})
}

// saStart starts "Workflow" with |sa| and |args|, retrying while the frontend does not know the
// search attributes just registered yet (its namespace cache lags the registration).
func (r *frun) saStart(ctx context.Context, sa temporal.SearchAttributes, args ...any) client.WorkflowRun {
	deadline := time.Now().Add(30 * time.Second)
	for {
		o := r.startOpts()
		o.TypedSearchAttributes = sa
		run, err := r.c.ExecuteWorkflow(ctx, o, "Workflow", args...)
		var bad *serviceerror.InvalidArgument
		if errors.As(err, &bad) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		r.noErr(err, "starting Workflow")
		return r.track(run)
	}
}

// saDecode is a payload the server holds, as Go value |out|.
func (r *frun) saDecode(p *commonpb.Payload, out any, what string) {
	r.require(p != nil, "%s: no such search attribute", what)
	r.noErr(converter.GetDefaultDataConverter().FromPayload(p, out), "decoding "+what)
}

// saDescribed is the search attributes of |run| as DescribeWorkflowExecution has them.
func (r *frun) saDescribed(ctx context.Context, run client.WorkflowRun) map[string]*commonpb.Payload {
	d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	r.noErr(err, "describe")
	return d.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields()
}

// saResult is the workflow's result: one raw JSON value per search attribute name.
func (r *frun) saResult(ctx context.Context, run client.WorkflowRun) map[string]json.RawMessage {
	var res map[string]json.RawMessage
	r.succeeds(ctx, run, &res)
	return res
}

func (r *frun) saJSON(raw json.RawMessage, out any, what string) {
	r.noErr(json.Unmarshal(raw, out), "reading "+what+" ("+string(raw)+")")
}

// checkSASet: the workflow reads back each value its start set, and the description has them.
// (Upstream also wants a BinaryChecksums search attribute in the description: a server with
// worker versioning no longer adds it.)
func checkSASet(ctx context.Context, r *frun) {
	registered := r.saRegister(ctx)
	date := time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC)
	run := r.saStart(ctx, temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword("CustomKeywordField").ValueSet("test-value"),
		temporal.NewSearchAttributeKeyInt64("CustomIntField").ValueSet(1),
		temporal.NewSearchAttributeKeyBool("CustomBoolField").ValueSet(true),
		temporal.NewSearchAttributeKeyTime("CustomDatetimeField").ValueSet(date),
	))
	r.saAllowLag(ctx, run, registered)
	res := r.saResult(ctx, run)
	var kw string
	var n int64
	var b bool
	var when time.Time
	r.saJSON(res["CustomKeywordField"], &kw, "CustomKeywordField")
	r.saJSON(res["CustomIntField"], &n, "CustomIntField")
	r.saJSON(res["CustomBoolField"], &b, "CustomBoolField")
	r.saJSON(res["CustomDatetimeField"], &when, "CustomDatetimeField")
	r.equal("test-value", kw, "CustomKeywordField the workflow read")
	r.equal(int64(1), n, "CustomIntField the workflow read")
	r.equal(true, b, "CustomBoolField the workflow read")
	r.require(when.Equal(date), "CustomDatetimeField the workflow read: want %v, got %v", date, when)

	d := r.saDescribed(ctx, run)
	kw, n, b = "", 0, false
	r.saDecode(d["CustomKeywordField"], &kw, "described CustomKeywordField")
	r.saDecode(d["CustomIntField"], &n, "described CustomIntField")
	r.saDecode(d["CustomBoolField"], &b, "described CustomBoolField")
	r.saDecode(d["CustomDatetimeField"], &when, "described CustomDatetimeField")
	r.equal("test-value", kw, "described CustomKeywordField")
	r.equal(int64(1), n, "described CustomIntField")
	r.equal(true, b, "described CustomBoolField")
	r.require(when.Equal(date), "described CustomDatetimeField: want %v, got %v", date, when)
}

// checkSAUpsert: after the two upserts the workflow reads, and the description has, Bool true,
// no Int, the keyword, the text, the time and the double; the history has both upserts, typed
// as the official SDKs type them, the removal untyped.
func checkSAUpsert(ctx context.Context, r *frun) {
	registered := r.saRegister(ctx)
	date := time.Now().UTC().Truncate(time.Millisecond)
	run := r.saStart(ctx, temporal.SearchAttributes{}, date.UnixMilli())
	r.saAllowLag(ctx, run, registered)
	res := r.saResult(ctx, run)
	var b bool
	var kw, text string
	var when time.Time
	var dbl float64
	r.saJSON(res["CustomBoolField"], &b, "CustomBoolField")
	r.equal("null", string(res["CustomIntField"]), "CustomIntField the workflow read (removed)")
	r.saJSON(res["CustomKeywordField"], &kw, "CustomKeywordField")
	r.saJSON(res["CustomTextField"], &text, "CustomTextField")
	r.saJSON(res["CustomDatetimeField"], &when, "CustomDatetimeField")
	r.saJSON(res["CustomDoubleField"], &dbl, "CustomDoubleField")
	r.equal(true, b, "CustomBoolField the workflow read")
	r.equal("durable code", kw, "CustomKeywordField the workflow read")
	r.equal("is useful", text, "CustomTextField the workflow read")
	r.require(when.Equal(date), "CustomDatetimeField the workflow read: want %v, got %v", date, when)
	r.equal(3.14, dbl, "CustomDoubleField the workflow read")

	d := r.saDescribed(ctx, run)
	_, hasInt := d["CustomIntField"]
	r.require(!hasInt, "the description still has CustomIntField after its removal")
	b, kw, text, dbl = false, "", "", 0
	r.saDecode(d["CustomBoolField"], &b, "described CustomBoolField")
	r.saDecode(d["CustomKeywordField"], &kw, "described CustomKeywordField")
	r.saDecode(d["CustomTextField"], &text, "described CustomTextField")
	r.saDecode(d["CustomDatetimeField"], &when, "described CustomDatetimeField")
	r.saDecode(d["CustomDoubleField"], &dbl, "described CustomDoubleField")
	r.equal(true, b, "described CustomBoolField")
	r.equal("durable code", kw, "described CustomKeywordField")
	r.equal("is useful", text, "described CustomTextField")
	r.require(when.Equal(date), "described CustomDatetimeField: want %v, got %v", date, when)
	r.equal(3.14, dbl, "described CustomDoubleField")

	var ups []*historypb.UpsertWorkflowSearchAttributesEventAttributes
	for _, e := range r.events(ctx, run) {
		if a := e.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			ups = append(ups, a)
		}
	}
	r.equal(2, len(ups), "UpsertWorkflowSearchAttributes events")
	r.note("workflow tasks failed while the history service learnt the new search attributes: %d",
		count(r.events(ctx, run), enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED))
	// (The server writes the registered type into every payload it records, the removal's
	// too, so the history cannot tell whether the worker sent one; test_wf_props checks the
	// commands themselves.)
	types := map[string]string{}
	for _, u := range ups {
		for k, p := range u.GetSearchAttributes().GetIndexedFields() {
			types[k] = string(p.Metadata["type"]) + "/" + string(p.Metadata["encoding"])
			if string(p.Metadata["encoding"]) == "binary/null" {
				types[k] = "removed"
			}
		}
	}
	r.equal(map[string]string{
		"CustomBoolField": "Bool/json/plain", "CustomIntField": "removed",
		"CustomKeywordField": "Keyword/json/plain", "CustomTextField": "Text/json/plain",
		"CustomDatetimeField": "Datetime/json/plain", "CustomDoubleField": "Double/json/plain",
	}, types, "the upserts' type/encoding metadata (the last upsert of each name)")
}

// checkSAMemoHeader starts "Workflow" with a memo and a header (the raw request: a header is
// what a client's context propagator writes), then checks the workflow's reads, the memo the
// description has after the workflow's changes, and the header on the activity.
func checkSAMemoHeader(ctx context.Context, r *frun) {
	dc := converter.GetDefaultDataConverter()
	pl := func(v any) *commonpb.Payload {
		p, err := dc.ToPayload(v)
		r.noErr(err, "payload")
		return p
	}
	o := r.startOpts()
	trace := "trace-" + o.ID
	resp, err := r.c.WorkflowService().StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace:                g.namespace,
		WorkflowId:               o.ID,
		WorkflowType:             &commonpb.WorkflowType{Name: "Workflow"},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: r.queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		WorkflowExecutionTimeout: durationpb.New(time.Minute),
		Identity:                 "tw-driver",
		RequestId:                newRequestID(),
		Memo:                     &commonpb.Memo{Fields: map[string]*commonpb.Payload{"note": pl("hi")}},
		Header:                   &commonpb.Header{Fields: map[string]*commonpb.Payload{"trace-id": pl(trace)}},
	})
	r.noErr(err, "StartWorkflowExecution with a memo and a header")
	run := r.track(r.c.GetWorkflow(ctx, o.ID, resp.RunId))
	var res struct {
		Note, Trace, Status string
		Activity            struct{ Trace, Hop string }
	}
	r.succeeds(ctx, run, &res)
	r.equal("hi", res.Note, "memo note the workflow read")
	r.equal(trace, res.Trace, "header trace-id the workflow read")
	r.equal("done", res.Status, "memo status read back after the upsert")
	r.equal(trace, res.Activity.Trace, "header trace-id the activity read")
	r.equal("workflow", res.Activity.Hop, "header hop the activity read")

	d, err := r.c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	r.noErr(err, "describe")
	memo := d.WorkflowExecutionInfo.GetMemo().GetFields()
	_, hasNote := memo["note"]
	r.require(!hasNote, "the memo still has note after its removal")
	var status string
	r.saDecode(memo["status"], &status, "described memo status")
	r.equal("done", status, "described memo status")

	var hdr map[string]*commonpb.Payload
	for _, e := range r.events(ctx, run) {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			hdr = a.GetHeader().GetFields()
		}
	}
	var got string
	r.saDecode(hdr["trace-id"], &got, "ActivityTaskScheduled header trace-id")
	r.equal(trace, got, "ActivityTaskScheduled header trace-id")
}

// checkSAChangeVersion: the result (patched both times, the mutable value twice), each marker
// once in the history (a mutable side effect whose value did not change records none), the
// deprecated flag, and TemporalChangeVersion listing both patches.
func checkSAChangeVersion(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var res struct {
		Side    int64
		Cfg     []string
		Patched []int
	}
	r.succeeds(ctx, run, &res)
	r.equal([]string{"blue", "blue"}, res.Cfg, "mutable side effect values")
	r.equal([]int{1, 1}, res.Patched, "tw_patched answers")

	markers := map[string]int{}
	deprecated := map[string]bool{}
	for _, e := range r.events(ctx, run) {
		a := e.GetMarkerRecordedEventAttributes()
		if a == nil {
			continue
		}
		markers[a.MarkerName]++
		if a.MarkerName == "SideEffect" {
			var v int64
			r.saDecode(a.Details["data"].GetPayloads()[0], &v, "SideEffect data")
			r.equal(res.Side, v, "the side effect's recorded value is the workflow's")
		}
		if a.MarkerName == "core_patch" {
			var id string
			var dep bool
			r.saDecode(a.Details["patch_id"].GetPayloads()[0], &id, "patch_id")
			r.saDecode(a.Details["deprecated"].GetPayloads()[0], &dep, "deprecated")
			deprecated[id] = dep
		}
	}
	r.equal(map[string]int{"SideEffect": 1, "MutableSideEffect": 1, "core_patch": 2}, markers, "markers in the history")
	r.equal(map[string]bool{"my-change": false, "old-change": true}, deprecated, "patch markers' deprecated flags")

	var versions []string
	r.saDecode(r.saDescribed(ctx, run)["TemporalChangeVersion"], &versions, "described TemporalChangeVersion")
	sort.Strings(versions)
	r.equal([]string{"my-change", "old-change"}, versions, "TemporalChangeVersion")
}
