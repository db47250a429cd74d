# SPDX-License-Identifier: MIT
"""Check a trace of `grb record -- crash_writer session` against the log.

usage: check_crash.py SUMMARY EVENTS_TXT LOG RC [--strict] [--nested]

SUMMARY is what grb record printed (its exit status RC), EVENTS_TXT
babeltrace2's output of the trace, LOG what crash_writer's parent logged,
a line per writer context of each killed child: n pid plan fired status
thread ctx done fails lost state in_call skipped.

Per context with d records done (commits returned): records 0..d-1 are
in the trace, once each, with a good checksum; record d if and only if
its commit's add was made (state 3, or 2 when the kill came from another
thread before the hook); nothing beyond.  Per process: the summary's
on-disk count is its events in the trace, its "written" is the commits
made + its losses, its losses are those the writers' calls counted (a
context killed by another thread inside a call may have counted one
more), and the line says "exact" (then grb record exits 0).  --strict: no
record reserved and never committed may be left uncounted (the streams
are per thread: each is counted died, doc/design.md "A writer that exits
or dies").
"""

import re
import sys

EVENT = re.compile(
    r"^\[[^\]]*\] \([^)]*\) \S+ crash:rec: \{ cpu_id = \d+ \}, "
    r"\{ vpid = (\d+), vtid = (\d+) \}, \{ child = (\d+), thread = (\d+), ctx = (\d+), "
    r"seq = (\d+), check = (\d+) \}$")
LINE = re.compile(
    r"^process (\d+) \S+ \(crash\): (\d+) written = (\d+) on disk \+ (\d+) lost"
    r"(?: \(([^)]*)\))?: (\w+);")
M64 = (1 << 64) - 1
ST_RESERVED, ST_HEADER, ST_ADDED = 1, 2, 3


def check_value(child, thread, ctx, seq):
    h = ((seq + 1) * 0x9E3779B97F4A7C15) & M64
    h ^= (((child << 32) | (thread << 8) | ctx) * 0xBF58476D1CE4E5B9) & M64
    return h ^ (h >> 29)


def main():
    summary, events, logf, rc = sys.argv[1:5]
    strict = "--strict" in sys.argv[5:]
    errors = []
    seen = {}  # (child, thread, ctx) -> {seq: count}
    pid_events = {}
    with open(events, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = EVENT.match(line)
            if not m:
                errors.append("line %d is not a crash:rec event: %s" % (no, line[:160]))
                continue
            vpid, _, child, thread, ctx, seq, chk = (int(x) for x in m.groups())
            if chk != check_value(child, thread, ctx, seq):
                errors.append("torn record (bad checksum): %s" % line[:160])
                continue
            seen.setdefault((child, thread, ctx), {}).setdefault(seq, 0)
            seen[(child, thread, ctx)][seq] += 1
            pid_events[vpid] = pid_events.get(vpid, 0) + 1
    lines = {}
    with open(summary, encoding="utf-8") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                lines[int(m.group(1))] = m
    procs = {}
    kills = fired = 0
    uncounted = 0
    with open(logf, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            n, pid, plan, fired_by, status = int(w[0]), int(w[1]), w[2], int(w[3]), int(w[4])
            thread, ctx, done, fails, lost, state, in_call, _ = (int(x) for x in w[5:])
            p = procs.setdefault(pid, {"n": n, "plan": plan, "added": 0, "lost": 0,
                                       "slack": 0, "status": status, "fired": fired_by,
                                       "inflight": 0, "maybe": 0})
            st = state if in_call else 0
            got = seen.pop((n, thread, ctx), {})
            # The record in flight is there only if its commit's add was
            # made: the hook saw the add (state 3), or saw the header
            # written and the kill came from another thread first (2).
            last = done in got
            p["added"] += done + (1 if last else 0)
            p["lost"] += lost
            # A loss counted just before a kill from another thread.
            p["slack"] += 1 if in_call and st == 0 else 0
            # Reserved and never committed: the summary may count it
            # died; a kill from another thread may land after the
            # reservation, before the hook (state 0).
            if not last and st in (ST_RESERVED, ST_HEADER):
                p["inflight"] += 1
            if not last and in_call and st != ST_ADDED:
                p["maybe"] += 1
            missing = [q for q in range(done) if q not in got]
            beyond = [q for q in got if q > done]
            if (last and st not in (ST_HEADER, ST_ADDED)) or (not last and st == ST_ADDED):
                beyond.append(done)
            dups = [q for q, c in got.items() if c > 1]
            if missing or beyond or dups:
                errors.append("child %d (plan %s) thread %d ctx %d: %d done (in flight: state "
                              "%d); missing %s, wrong beyond %s, duplicated %s" %
                              (n, plan, thread, ctx, done, st, missing[:5], beyond[:5],
                               dups[:5]))
    for key in seen:
        errors.append("records of no logged writer: %s" % (key,))
    for pid, p in procs.items():
        kills += 1
        fired += p["fired"] == 1
        if (p["status"] & 0x7F) != 9:
            errors.append("child %d (pid %d) was not killed by SIGKILL (status %d)" %
                          (p["n"], pid, p["status"]))
        m = lines.get(pid)
        if not m:
            errors.append("child %d (pid %d): no summary line" % (p["n"], pid))
            continue
        written, disk, lost, verdict = int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(6)
        died = re.search(r"\bdied (\d+)", m.group(5) or "")
        died = int(died.group(1)) if died else 0
        if died > p["maybe"]:
            errors.append("child %d (plan %s): %d died, %d in flight" %
                          (p["n"], p["plan"], died, p["maybe"]))
        if p["inflight"] > died:
            uncounted += p["inflight"] - died
            if strict:
                errors.append("child %d (plan %s): %d record(s) reserved and never committed "
                              "not counted lost" % (p["n"], p["plan"], p["inflight"] - died))
        if disk != pid_events.get(pid, 0):
            errors.append("child %d: %d on disk, %d in the trace" %
                          (p["n"], disk, pid_events.get(pid, 0)))
        if (written != p["added"] + lost
                or not p["lost"] <= lost - died <= p["lost"] + p["slack"]
                or verdict != "exact"):
            errors.append("child %d (plan %s): summary %d written = %d + %d lost (%s); "
                          "the writers made %d commits and counted %d losses" %
                          (p["n"], p["plan"], written, disk, lost, verdict, p["added"], p["lost"]))
    if int(rc) != 0:
        errors.append("grb record exited %s" % rc)
    for e in errors[:20]:
        print("check_crash: " + e)
    print("check_crash: %d kills (%d by plan), %d events, %d reserved and never committed "
          "(not counted lost)%s" % (kills, fired, sum(pid_events.values()), uncounted,
                                    ": FAILED" if errors else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
