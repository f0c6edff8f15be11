// The checks of Temporal's feature-suite scenarios (github.com/temporalio/features), ported for
// C workflows: `tw-driver feature --name AREA/NAME --task-queue Q --invoke URL` starts the
// scenario's workflows on Q, drives them through the official client (signals, queries,
// updates, cancellation) and verifies results and histories the way the scenario's own checker
// does. The workflows are tests/features/AREA/NAME/feature.c, run by bootstrap under the Lambda
// emulator: the check is the worker's switch, invoking the function at URL one invocation
// after another while the worker should run (the emulator answers each invocation when the
// worker's idle exit ends it), and not at all while a scenario wants no worker.
//
// After its own checks, every scenario passes the default history check: no workflow task of
// its workflows failed unless the scenario expects it (the Go harness replays each history with
// the Go workflows instead; our replay tests use the histories --history-dir saves).

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// A scenario: its check drives the workflows and panics with checkFailed when a requirement
// does not hold (see frun.require).
type scenario struct {
	name  string // AREA/NAME, the folder under tests/features/
	about string
	check func(ctx context.Context, r *frun)
}

var scenarios []scenario

// register adds scenarios; each area's file calls it from init().
func register(s ...scenario) { scenarios = append(scenarios, s...) }

func findScenario(name string) *scenario {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i]
		}
	}
	return nil
}

type checkFailed struct{ msg string }

// frun is one run of a scenario: the client, the task queue, the worker switch, and the
// workflows it started (for the history check).
type frun struct {
	c        client.Client
	queue    string
	prefix   string
	worker   *invoker
	mu       sync.Mutex
	runs     []client.WorkflowRun
	allowWFT map[string]func(*historypb.WorkflowTaskFailedEventAttributes) bool
	notes    []string
}

func cmdFeature(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	name := fs.String("name", "", "scenario AREA/NAME (required unless --list)")
	list := fs.Bool("list", false, "list the scenarios and exit")
	queue := fs.String("task-queue", "", "task queue the worker polls (required)")
	invoke := fs.String("invoke", "", "the function's Invoke URL (the emulator's /2015-03-31/functions/NAME/invocations); empty: a worker runs on its own")
	prefix := fs.String("id-prefix", "", "workflow ids start with this (default: the scenario's name and the time)")
	histDir := fs.String("history-dir", "", "save each workflow's history here as a serialised History (replay fixtures)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *list {
			out := []map[string]string{}
			for _, s := range scenarios {
				out = append(out, map[string]string{"name": s.name, "about": s.about})
			}
			sort.Slice(out, func(i, j int) bool { return out[i]["name"] < out[j]["name"] })
			return out, nil
		}
		s := findScenario(*name)
		if s == nil {
			return nil, fmt.Errorf("no scenario %q (--list lists them)", *name)
		}
		if *queue == "" {
			return nil, errors.New("--task-queue is required")
		}
		if *prefix == "" {
			*prefix = fmt.Sprintf("%s-%d", strings.ReplaceAll(s.name, "/", "-"), time.Now().UnixNano())
		}
		r := &frun{c: c, queue: *queue, prefix: *prefix, worker: newInvoker(*invoke),
			allowWFT: map[string]func(*historypb.WorkflowTaskFailedEventAttributes) bool{}}
		r.worker.start()
		err := r.run(ctx, s)
		r.worker.stop()
		if err == nil {
			err = r.historyCheck(ctx, s, *histDir)
		}
		if err == nil && len(r.worker.errors) > 0 {
			err = fmt.Errorf("invocations failed: %s", strings.Join(r.worker.errors, "; "))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		ids := []string{}
		for _, run := range r.runs {
			ids = append(ids, run.GetID())
		}
		return map[string]any{"feature": s.name, "ok": true, "workflows": ids, "notes": r.notes,
			"invocations": len(r.worker.summaries), "summaries": r.worker.summaries}, nil
	}
}

// run runs the check, turning its checkFailed panic into an error.
func (r *frun) run(ctx context.Context, s *scenario) (err error) {
	defer func() {
		if p := recover(); p != nil {
			cf, ok := p.(checkFailed)
			if !ok {
				panic(p)
			}
			err = errors.New(cf.msg)
		}
	}()
	s.check(ctx, r)
	return nil
}

// ---- requirements ---------------------------------------------------------------------------

func (r *frun) require(ok bool, format string, args ...any) {
	if !ok {
		panic(checkFailed{fmt.Sprintf(format, args...)})
	}
}

func (r *frun) noErr(err error, what string) {
	if err != nil {
		panic(checkFailed{fmt.Sprintf("%s: %s", what, errText(err))})
	}
}

func (r *frun) equal(want, got any, what string) {
	if !jsonEqual(want, got) {
		panic(checkFailed{fmt.Sprintf("%s: want %s, got %s", what, jsonText(want), jsonText(got))})
	}
}

func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func (r *frun) note(format string, args ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// ---- workflows ------------------------------------------------------------------------------

// startOpts are the harness defaults: the next id, the task queue, a 1 minute execution timeout.
func (r *frun) startOpts() client.StartWorkflowOptions {
	r.mu.Lock()
	n := len(r.runs)
	r.mu.Unlock()
	return client.StartWorkflowOptions{
		ID:                       fmt.Sprintf("%s-%d", r.prefix, n),
		TaskQueue:                r.queue,
		WorkflowExecutionTimeout: time.Minute,
	}
}

// track adds |run| to the workflows the history check reads.
func (r *frun) track(run client.WorkflowRun) client.WorkflowRun {
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	return run
}

// start starts |wfType| with the defaults (changed by |mutate|, may be nil) and |args|.
func (r *frun) start(ctx context.Context, wfType string, mutate func(*client.StartWorkflowOptions),
	args ...any) client.WorkflowRun {
	o := r.startOpts()
	if mutate != nil {
		mutate(&o)
	}
	run, err := r.c.ExecuteWorkflow(ctx, o, wfType, args...)
	r.noErr(err, "starting "+wfType)
	return r.track(run)
}

// allowTaskFailures lets the history check accept failed workflow tasks of |id| that |ok| likes.
func (r *frun) allowTaskFailures(id string, ok func(*historypb.WorkflowTaskFailedEventAttributes) bool) {
	r.mu.Lock()
	r.allowWFT[id] = ok
	r.mu.Unlock()
}

// succeeds waits for |run| and requires success; its result goes to |out| (may be nil).
func (r *frun) succeeds(ctx context.Context, run client.WorkflowRun, out any) {
	r.noErr(run.Get(ctx, out), "expected success of workflow "+run.GetID())
}

// events is the history of |run| so far.
func (r *frun) events(ctx context.Context, run client.WorkflowRun) []*historypb.HistoryEvent {
	return r.eventsOf(ctx, run.GetID(), run.GetRunID())
}

func (r *frun) eventsOf(ctx context.Context, id, runID string) []*historypb.HistoryEvent {
	var evs []*historypb.HistoryEvent
	it := r.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		r.noErr(err, "reading the history of "+id)
		evs = append(evs, e)
	}
	return evs
}

// waitEvent polls the history of |run| until an event satisfies |pred|; it returns that event.
func (r *frun) waitEvent(ctx context.Context, run client.WorkflowRun, what string, timeout time.Duration,
	pred func(*historypb.HistoryEvent) bool) *historypb.HistoryEvent {
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range r.events(ctx, run) {
			if pred(e) {
				return e
			}
		}
		r.require(time.Now().Before(deadline), "no %s in the history of %s within %v", what, run.GetID(), timeout)
		select {
		case <-ctx.Done():
			r.noErr(ctx.Err(), "waiting for "+what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// eventually polls |ok| every 100 ms until it holds, for at most |timeout|.
func (r *frun) eventually(ctx context.Context, what string, timeout time.Duration, ok func() bool) {
	deadline := time.Now().Add(timeout)
	for !ok() {
		r.require(time.Now().Before(deadline), "%s: not within %v", what, timeout)
		select {
		case <-ctx.Done():
			r.noErr(ctx.Err(), "waiting for "+what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isType(t enumspb.EventType) func(*historypb.HistoryEvent) bool {
	return func(e *historypb.HistoryEvent) bool { return e.EventType == t }
}

func count(evs []*historypb.HistoryEvent, t enumspb.EventType) int {
	n := 0
	for _, e := range evs {
		if e.EventType == t {
			n++
		}
	}
	return n
}

func first(evs []*historypb.HistoryEvent, t enumspb.EventType) *historypb.HistoryEvent {
	for _, e := range evs {
		if e.EventType == t {
			return e
		}
	}
	return nil
}

// taskOf is the WorkflowTaskCompleted event id of the task whose commands made |e|, or 0 for an
// event no command made.
func taskOf(e *historypb.HistoryEvent) int64 {
	type byTask interface{ GetWorkflowTaskCompletedEventId() int64 }
	var attrs any
	switch {
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		attrs = e.GetActivityTaskScheduledEventAttributes()
	case e.GetActivityTaskCancelRequestedEventAttributes() != nil:
		attrs = e.GetActivityTaskCancelRequestedEventAttributes()
	case e.GetTimerStartedEventAttributes() != nil:
		attrs = e.GetTimerStartedEventAttributes()
	case e.GetTimerCanceledEventAttributes() != nil:
		attrs = e.GetTimerCanceledEventAttributes()
	case e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes() != nil:
		attrs = e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes()
	case e.GetRequestCancelExternalWorkflowExecutionInitiatedEventAttributes() != nil:
		attrs = e.GetRequestCancelExternalWorkflowExecutionInitiatedEventAttributes()
	case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
		attrs = e.GetWorkflowExecutionCompletedEventAttributes()
	case e.GetWorkflowExecutionCanceledEventAttributes() != nil:
		attrs = e.GetWorkflowExecutionCanceledEventAttributes()
	}
	if b, ok := attrs.(byTask); ok {
		return b.GetWorkflowTaskCompletedEventId()
	}
	return 0
}

// ---- the default history check --------------------------------------------------------------

// historyCheck reads the history of every workflow the scenario started: no failed workflow
// task unless allowed; with |dir|, saves each as DIR/AREA_NAME-K.history.
func (r *frun) historyCheck(ctx context.Context, s *scenario, dir string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			cf, ok := p.(checkFailed)
			if !ok {
				panic(p)
			}
			err = errors.New(cf.msg)
		}
	}()
	for k, run := range r.runs {
		evs := r.eventsOf(ctx, run.GetID(), "")
		for _, e := range evs {
			a := e.GetWorkflowTaskFailedEventAttributes()
			if a == nil {
				continue
			}
			ok := r.allowWFT[run.GetID()]
			r.require(ok != nil && ok(a), "workflow %s: workflow task failed (event %d, cause %s): %s",
				run.GetID(), e.EventId, enumName(a.Cause, "WORKFLOW_TASK_FAILED_CAUSE_"), a.GetFailure().GetMessage())
		}
		if dir != "" {
			raw, err := proto.Marshal(&historypb.History{Events: evs})
			r.noErr(err, "encoding a history")
			name := fmt.Sprintf("%s-%d.history", strings.ReplaceAll(s.name, "/", "_"), k)
			r.noErr(os.MkdirAll(dir, 0o755), "making "+dir)
			r.noErr(os.WriteFile(filepath.Join(dir, name), raw, 0o644), "saving a history")
		}
	}
	return nil
}

// ---- the worker switch ----------------------------------------------------------------------

// invoker invokes the function one invocation after another while it runs; each invocation
// lasts until the worker's idle exit (or its deadline) ends it.
type invoker struct {
	url       string
	mu        sync.Mutex
	quit      chan struct{}
	done      chan struct{}
	summaries []map[string]any
	errors    []string
}

func newInvoker(url string) *invoker { return &invoker{url: url} }

func (v *invoker) start() {
	if v.url == "" || v.quit != nil {
		return
	}
	v.quit, v.done = make(chan struct{}), make(chan struct{})
	go v.loop(v.quit, v.done)
}

// stop waits until the invocation under way ends; none starts after it.
func (v *invoker) stop() {
	if v.quit == nil {
		return
	}
	close(v.quit)
	<-v.done
	v.quit, v.done = nil, nil
}

func (v *invoker) loop(quit, done chan struct{}) {
	defer close(done)
	hc := &http.Client{}
	for {
		select {
		case <-quit:
			return
		default:
		}
		v.invokeOnce(hc)
	}
}

func (v *invoker) invokeOnce(hc *http.Client) {
	resp, err := hc.Post(v.url, "application/json", strings.NewReader("{}"))
	if err != nil {
		v.fail("invoke: %v", err)
		time.Sleep(200 * time.Millisecond)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" || resp.StatusCode != http.StatusOK {
		v.fail("invocation %d %s: %s", resp.StatusCode, fe, body)
		time.Sleep(200 * time.Millisecond)
		return
	}
	var s map[string]any
	if err := json.Unmarshal(body, &s); err != nil {
		v.fail("invocation summary is not JSON: %.200s", body)
		return
	}
	v.mu.Lock()
	v.summaries = append(v.summaries, s)
	v.mu.Unlock()
}

func (v *invoker) fail(format string, args ...any) {
	v.mu.Lock()
	v.errors = append(v.errors, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}
