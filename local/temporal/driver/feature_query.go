// Checks of the query scenarios (tests/features/query/).

package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func init() {
	register(
		scenario{"query/successful_query", "queries read the state signals changed, in order", checkSuccessfulQuery},
		scenario{"query/timeout_due_to_no_active_workers", "with no worker a query ends at the client's deadline", checkQueryNoWorkers},
		scenario{"query/unexpected_arguments", "a query handler gets the arguments sent, extra or missing, and may refuse them", checkQueryArguments},
		scenario{"query/unexpected_query_type_name", "a query nobody handles fails with QueryFailed", checkQueryUnknownType},
		scenario{"query/unexpected_return_type", "decoding a query result into the wrong type fails on the client", checkQueryReturnType},
	)
}

func (r *frun) queryInt(ctx context.Context, id, runID, name string) int {
	v, err := r.c.QueryWorkflow(ctx, id, runID, name)
	r.noErr(err, "query "+name)
	var n int
	r.noErr(v.Get(&n), "decoding the result of "+name)
	return n
}

func checkSuccessfulQuery(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	id, rid := run.GetID(), run.GetRunID()
	r.equal(0, r.queryInt(ctx, id, rid, "counterQ"), "counter before any signal")
	r.noErr(r.c.SignalWorkflow(ctx, id, rid, "counterInc", nil), "signal")
	r.equal(1, r.queryInt(ctx, id, rid, "counterQ"), "counter after one signal")
	for i := 0; i < 3; i++ {
		r.noErr(r.c.SignalWorkflow(ctx, id, rid, "counterInc", nil), "signal")
	}
	r.equal(4, r.queryInt(ctx, id, rid, "counterQ"), "counter after four signals")
	r.noErr(r.c.SignalWorkflow(ctx, id, rid, "counterInc", nil), "signal")
	r.succeeds(ctx, run, nil)
}

// checkQueryNoWorkers: the worker is stopped (no invocation runs); a query with a 1 s deadline
// fails with DeadlineExceeded (or Canceled, whichever side's deadline comes first); with the
// worker back, a signal finishes the workflow.
func checkQueryNoWorkers(ctx context.Context, r *frun) {
	r.require(r.worker.url != "", "this scenario needs --invoke (it stops and restarts the worker)")
	run := r.start(ctx, "Workflow", nil)
	v, err := r.c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "somequery")
	r.noErr(err, "query with the worker running")
	var b bool
	r.noErr(v.Get(&b), "decoding somequery")
	r.equal(true, b, "somequery")
	r.worker.stop()
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err = r.c.QueryWorkflow(short, run.GetID(), run.GetRunID(), "somequery")
	cancel()
	var de *serviceerror.DeadlineExceeded
	var ce *serviceerror.Canceled
	st, _ := status.FromError(err)
	r.require(errors.As(err, &de) || errors.As(err, &ce) || st.Code() == codes.DeadlineExceeded ||
		st.Code() == codes.Canceled || errors.Is(err, context.DeadlineExceeded),
		"query with no worker: want a deadline error, got %v", err)
	r.worker.start()
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil), "signal")
	r.succeeds(ctx, run, nil)
}

// checkQueryArguments: the Go scenario (the handler takes one number: an extra argument is
// ignored, a missing one reads as 0) plus the README's wrong-type case, which a C handler
// refuses itself (the query fails with its message).
func checkQueryArguments(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	id, rid := run.GetID(), run.GetRunID()
	ask := func(args ...any) (string, error) {
		v, err := r.c.QueryWorkflow(ctx, id, rid, "theQuery", args...)
		if err != nil {
			return "", err
		}
		var s string
		r.noErr(v.Get(&s), "decoding theQuery")
		return s, nil
	}
	got, err := ask(123)
	r.noErr(err, "theQuery(123)")
	r.equal("got 123", got, "theQuery(123)")
	got, err = ask(123, true)
	r.noErr(err, "theQuery(123, true)")
	r.equal("got 123", got, "theQuery(123, true): the extra argument is dropped")
	got, err = ask()
	r.noErr(err, "theQuery()")
	r.equal("got 0", got, "theQuery(): the missing argument reads as 0")
	_, err = ask(true)
	var qf *serviceerror.QueryFailed
	r.require(errors.As(err, &qf), "theQuery(true): want QueryFailed, got %v", err)
	r.require(strings.Contains(err.Error(), "argument is not a number"), "theQuery(true): the handler's message, got %v", err)
	r.noErr(r.c.SignalWorkflow(ctx, id, rid, "finish", nil), "signal")
	r.succeeds(ctx, run, nil)
}

func checkQueryUnknownType(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	_, err := r.c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "nonexistent")
	var qf *serviceerror.QueryFailed
	r.require(errors.As(err, &qf), "query nonexistent: want QueryFailed, got %v", err)
	r.require(strings.Contains(err.Error(), "nonexistent"), "the failure should name the query type, got %v", err)
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil), "signal")
	r.succeeds(ctx, run, nil)
}

func checkQueryReturnType(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	v, err := r.c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "theQuery")
	r.noErr(err, "theQuery")
	var n int
	r.require(v.Get(&n) != nil, "decoding the string result into a number should fail")
	var s string
	r.noErr(v.Get(&s), "decoding the result as a string")
	r.equal("hi bob", s, "theQuery")
	r.noErr(r.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil), "signal")
	r.succeeds(ctx, run, nil)
}
