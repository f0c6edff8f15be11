#!/usr/bin/env python3
"""Reads a workflow's history as tw-driver writes it (`history --out FILE`: protojson) and
prints what the benchmark compares, one `KEY VALUE` a line:

  e2e_ms         WorkflowExecutionStarted -> the closing event (server clock)
  wft_sum_ms     sum over completed workflow tasks of WorkflowTaskStarted -> Completed: the
                 time workers spent on the workflow's tasks, round trip of the completion
                 included
  wft_max_ms     the longest of those
  wft_count      completed workflow tasks
  wft_lost       workflow tasks that failed or timed out
  events         events in the history
"""
import json
import sys
from datetime import datetime


def etype(ev):
    """'EVENT_TYPE_WORKFLOW_TASK_STARTED' or 'WorkflowTaskStarted' -> 'WORKFLOW_TASK_STARTED'."""
    t = ev.get("eventType", "")
    if t.startswith("EVENT_TYPE_"):
        return t[len("EVENT_TYPE_"):]
    out = []
    for i, ch in enumerate(t):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.upper())
    return "".join(out)


def ms(ts):
    """RFC 3339 with up to nanoseconds -> milliseconds since the epoch (float)."""
    ts = ts.rstrip("Z")
    frac = ""
    if "." in ts:
        ts, frac = ts.split(".", 1)
    base = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S")
    epoch = (base - datetime(1970, 1, 1)).total_seconds()
    return epoch * 1000.0 + (float("0." + frac) * 1000.0 if frac else 0.0)


def main():
    with open(sys.argv[1]) as f:
        events = json.load(f)["events"]
    by_id = {int(e["eventId"]): e for e in events}
    started = closed = None
    total = longest = 0.0
    count = lost = 0
    for e in events:
        t = etype(e)
        if t == "WORKFLOW_EXECUTION_STARTED":
            started = ms(e["eventTime"])
        elif t.startswith("WORKFLOW_EXECUTION_") and t in (
                "WORKFLOW_EXECUTION_COMPLETED", "WORKFLOW_EXECUTION_FAILED",
                "WORKFLOW_EXECUTION_TIMED_OUT", "WORKFLOW_EXECUTION_CANCELED",
                "WORKFLOW_EXECUTION_TERMINATED", "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"):
            closed = ms(e["eventTime"])
        elif t == "WORKFLOW_TASK_COMPLETED":
            a = e["workflowTaskCompletedEventAttributes"]
            s = by_id[int(a["startedEventId"])]
            d = ms(e["eventTime"]) - ms(s["eventTime"])
            total += d
            longest = max(longest, d)
            count += 1
        elif t in ("WORKFLOW_TASK_FAILED", "WORKFLOW_TASK_TIMED_OUT"):
            lost += 1
    if started is not None and closed is not None:
        print("e2e_ms %.1f" % (closed - started))
    print("wft_sum_ms %.1f" % total)
    print("wft_max_ms %.1f" % longest)
    print("wft_count %d" % count)
    print("wft_lost %d" % lost)
    print("events %d" % len(events))


if __name__ == "__main__":
    main()
