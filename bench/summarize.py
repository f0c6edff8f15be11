#!/usr/bin/env python3
"""Turns bench/compare.sh's raw values (`SCENARIO SYSTEM REP KEY VALUE` lines) into the
markdown table of build/bench/compare.md: per row the median over the repetitions (the range
in brackets when there were several), the ratio ours / peer's of the medians, and issue 11's
target for that ratio with whether this run met it.

Usage: bench/summarize.py RAW REPS STEPS QUEUED
"""
import re
import statistics
import subprocess
import sys
from collections import defaultdict


def machine():
    cpu = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            cpu = m.group(1).strip()
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return "%s cores, %s" % (cores, cpu)


def peer_versions():
    want = {"go.temporal.io/sdk": None, "github.com/aws/aws-lambda-go": None}
    try:
        for line in open("bench/peer/go.mod"):
            parts = line.split()
            if len(parts) >= 2 and parts[0] in want:
                want[parts[0]] = parts[1]
    except OSError:
        pass
    return ", ".join("%s %s" % (k, v) for k, v in want.items() if v)


def fmt(v):
    if v is None:
        return "-"
    if v == int(v) or abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def main():
    raw, reps, steps, queued = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    vals = defaultdict(list)
    for line in open(raw):
        p = line.split()
        if len(p) == 5:
            try:
                vals[(p[0], p[1], p[3])].append(float(p[4]))
            except ValueError:
                pass

    def cell(scen, sys_, key, scale=1.0):
        v = [x / scale for x in vals.get((scen, sys_, key), [])]
        if not v:
            return None, "-"
        med = statistics.median(v)
        text = fmt(med)
        if len(v) > 1 and min(v) != max(v):
            text += " (%s-%s)" % (fmt(min(v)), fmt(max(v)))
        return med, text

    # (label, scenario, key, scale, target): target is (kind, number, words) with kind "ratio"
    # (ours / peer's at most number), "abs" (ours under number) or None.
    rows = [
        ("Init Duration, ms", "hello", "init_ms", 1, None),
        ("one hello end to end, cold, through the Worker Controller, ms", "hello", "e2e_ms", 1, None),
        ("Max Memory Used, hello, MB", "hello", "max_memory_mb", 1, None),
        ("Max Memory Used, 100-workflow burst, MB", "burst100", "max_memory_mb", 1,
         ("abs", 10, "ours under 10 MB")),
        ("invocations, 100-workflow burst (timeout 30 s)", "burst100", "invocations", 1,
         ("ratio", 1, "no more than the peer's")),
        ("deployable size, zipped, KB", "size", "deploy_bytes", 1024, None),
        ("billed ms per workflow, 50 at once, timeout 30 s", "burst50_30", "billed_ms_per_wf", 1,
         ("ratio", 0.2, "at most 1/5")),
        ("invocations, 50 at once, timeout 30 s", "burst50_30", "invocations", 1,
         ("ratio", 1, "no more than the peer's")),
        ("billed ms per workflow, 50 at once, timeout 300 s", "burst50_300", "billed_ms_per_wf", 1,
         ("ratio", 0.1, "at most 1/10")),
        ("invocations, 50 at once, timeout 300 s", "burst50_300", "invocations", 1,
         ("ratio", 1, "no more than the peer's")),
        ("%s queued workflows in one invocation: wall, ms" % queued, "queued", "wall_ms", 1,
         ("ratio", 0.5, "throughput at least 2x")),
        ("%s queued workflows in one invocation: CPU, ms" % queued, "queued", "cpu_ms", 1, None),
        ("%s queued workflows in one invocation: the server's CPU meanwhile, ms" % queued, "queued",
         "server_cpu_ms", 1, None),
        ("%s-step workflow: sum of workflow-task times, ms" % steps, "steps", "wft_sum_ms", 1,
         ("ratio", 0.5, "at most half")),
        ("%s-step workflow: longest workflow task, ms" % steps, "steps", "wft_max_ms", 1, None),
        ("%s-step workflow: workflow tasks" % steps, "steps", "wft_count", 1, None),
        ("%s-step workflow: invocations (timeout 30 s)" % steps, "steps", "invocations", 1, None),
        ("%s-step workflow: end to end, ms" % steps, "steps", "e2e_ms", 1, None),
    ]
    print("# Us against the official Go SDK (make bench)")
    print()
    print("Machine: %s. %d repetition%s, interleaved; median (range). Peer: bench/peer on %s, "
          "the Go Lambda helper's defaults." % (machine(), reps, "" if reps == 1 else "s",
                                               peer_versions()))
    print()
    print("| what | us | peer | us / peer | target (issue 11) | |")
    print("|---|---|---|---|---|---|")
    for label, scen, key, scale, target in rows:
        us, us_t = cell(scen, "us", key, scale)
        peer, peer_t = cell(scen, "peer", key, scale)
        if us is None and peer is None:
            continue
        ratio = us / peer if us is not None and peer else None
        ratio_t = ("%.2f" % ratio) if ratio is not None else "-"
        target_t, status = "", ""
        if target:
            kind, num, words = target
            target_t = words
            if kind == "ratio" and ratio is not None:
                status = "met" if ratio <= num else "not yet"
            elif kind == "abs" and us is not None:
                status = "met" if us < num else "not yet"
        print("| %s | %s | %s | %s | %s | %s |" % (label, us_t, peer_t, ratio_t, target_t, status))


if __name__ == "__main__":
    main()
